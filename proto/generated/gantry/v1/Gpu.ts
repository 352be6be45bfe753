// Original file: proto/gantry/v1/types.proto

import type { MigInstance as _gantry_v1_MigInstance, MigInstance__Output as _gantry_v1_MigInstance__Output } from '../../gantry/v1/MigInstance';
import type { GpuPlatform as _gantry_v1_GpuPlatform, GpuPlatform__Output as _gantry_v1_GpuPlatform__Output } from '../../gantry/v1/GpuPlatform';
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
  'migInstances'?: (_gantry_v1_MigInstance)[];
  'platform'?: (_gantry_v1_GpuPlatform | null);
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
  'migInstances': (_gantry_v1_MigInstance__Output)[];
  'platform': (_gantry_v1_GpuPlatform__Output | null);
}
