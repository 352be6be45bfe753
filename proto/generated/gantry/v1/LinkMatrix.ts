// Original file: proto/gantry/v1/types.proto

import type { LinkMatrixRow as _gantry_v1_LinkMatrixRow, LinkMatrixRow__Output as _gantry_v1_LinkMatrixRow__Output } from '../../gantry/v1/LinkMatrixRow';

export interface LinkMatrix {
  'devices'?: (string)[];
  'rows'?: (_gantry_v1_LinkMatrixRow)[];
}

export interface LinkMatrix__Output {
  'devices': (string)[];
  'rows': (_gantry_v1_LinkMatrixRow__Output)[];
}
