// Original file: proto/gantry/v1/types.proto

import type { Long } from '@grpc/proto-loader';

export interface Host {
  'hostname'?: (string);
  'cpuModel'?: (string);
  'cpuCores'?: (number);
  'memoryBytes'?: (number | string | Long);
  'numaNodes'?: (number);
  'os'?: (string);
  'kernel'?: (string);
  'arch'?: (string);
  'biosVendor'?: (string);
  'biosVersion'?: (string);
  'biosDate'?: (string);
  'baseboard'?: (string);
  'systemSerial'?: (string);
}

export interface Host__Output {
  'hostname': (string);
  'cpuModel': (string);
  'cpuCores': (number);
  'memoryBytes': (number);
  'numaNodes': (number);
  'os': (string);
  'kernel': (string);
  'arch': (string);
  'biosVendor': (string);
  'biosVersion': (string);
  'biosDate': (string);
  'baseboard': (string);
  'systemSerial': (string);
}
