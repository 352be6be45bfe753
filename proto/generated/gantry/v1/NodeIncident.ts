// Original file: proto/gantry/v1/agent.proto

import type { LeftoverProcess as _gantry_v1_LeftoverProcess, LeftoverProcess__Output as _gantry_v1_LeftoverProcess__Output } from '../../gantry/v1/LeftoverProcess';
import type { Long } from '@grpc/proto-loader';

export interface NodeIncident {
  'source'?: (string);
  'jobId'?: (string);
  'reason'?: (string);
  'leftovers'?: (_gantry_v1_LeftoverProcess)[];
  'atUnixMs'?: (number | string | Long);
}

export interface NodeIncident__Output {
  'source': (string);
  'jobId': (string);
  'reason': (string);
  'leftovers': (_gantry_v1_LeftoverProcess__Output)[];
  'atUnixMs': (number);
}
