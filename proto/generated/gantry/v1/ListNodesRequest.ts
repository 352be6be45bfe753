// Original file: proto/gantry/v1/scheduler.proto

import type { Connectivity as _gantry_v1_Connectivity, Connectivity__Output as _gantry_v1_Connectivity__Output } from '../../gantry/v1/Connectivity';

export interface ListNodesRequest {
  'connectivity'?: (_gantry_v1_Connectivity);
}

export interface ListNodesRequest__Output {
  'connectivity': (_gantry_v1_Connectivity__Output);
}
