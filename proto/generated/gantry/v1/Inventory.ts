// Original file: proto/gantry/v1/types.proto

import type { Host as _gantry_v1_Host, Host__Output as _gantry_v1_Host__Output } from '../../gantry/v1/Host';
import type { Firmware as _gantry_v1_Firmware, Firmware__Output as _gantry_v1_Firmware__Output } from '../../gantry/v1/Firmware';
import type { Gpu as _gantry_v1_Gpu, Gpu__Output as _gantry_v1_Gpu__Output } from '../../gantry/v1/Gpu';
import type { Hca as _gantry_v1_Hca, Hca__Output as _gantry_v1_Hca__Output } from '../../gantry/v1/Hca';
import type { Topology as _gantry_v1_Topology, Topology__Output as _gantry_v1_Topology__Output } from '../../gantry/v1/Topology';

export interface Inventory {
  'host'?: (_gantry_v1_Host | null);
  'firmware'?: (_gantry_v1_Firmware | null);
  'gpus'?: (_gantry_v1_Gpu)[];
  'hcas'?: (_gantry_v1_Hca)[];
  'topology'?: (_gantry_v1_Topology | null);
}

export interface Inventory__Output {
  'host': (_gantry_v1_Host__Output | null);
  'firmware': (_gantry_v1_Firmware__Output | null);
  'gpus': (_gantry_v1_Gpu__Output)[];
  'hcas': (_gantry_v1_Hca__Output)[];
  'topology': (_gantry_v1_Topology__Output | null);
}
