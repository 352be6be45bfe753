// Original file: proto/gantry/v1/types.proto

import type { HcaPort as _gantry_v1_HcaPort, HcaPort__Output as _gantry_v1_HcaPort__Output } from '../../gantry/v1/HcaPort';

export interface Hca {
  'name'?: (string);
  'hcaType'?: (string);
  'firmwareVersion'?: (string);
  'boardId'?: (string);
  'ports'?: (_gantry_v1_HcaPort)[];
}

export interface Hca__Output {
  'name': (string);
  'hcaType': (string);
  'firmwareVersion': (string);
  'boardId': (string);
  'ports': (_gantry_v1_HcaPort__Output)[];
}
