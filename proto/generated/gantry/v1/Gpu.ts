// Original file: proto/gantry/v1/types.proto

import type { Long } from '@grpc/proto-loader';

export interface Gpu {
  'index'?: (number);
  'uuid'?: (string);
  'name'?: (string);
  'vendor'?: (string);
  'memoryMib'?: (number | string | Long);
  'pciBusId'?: (string);
  'serial'?: (string);
  'vbiosVersion'?: (string);
  'inforomVersion'?: (string);
  'gspFirmwareVersion'?: (string);
  'numaNode'?: (number);
  'nvlinkDomain'?: (string);
  'linkRow'?: (string)[];
  'migEnabled'?: (boolean);
}

export interface Gpu__Output {
  'index': (number);
  'uuid': (string);
  'name': (string);
  'vendor': (string);
  'memoryMib': (number);
  'pciBusId': (string);
  'serial': (string);
  'vbiosVersion': (string);
  'inforomVersion': (string);
  'gspFirmwareVersion': (string);
  'numaNode': (number);
  'nvlinkDomain': (string);
  'linkRow': (string)[];
  'migEnabled': (boolean);
}
