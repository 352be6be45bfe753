// Original file: proto/gantry/v1/types.proto

import type { Long } from '@grpc/proto-loader';

export interface MigInstance {
  'index'?: (number);
  'gpuInstanceId'?: (number);
  'computeInstanceId'?: (number);
  'multiprocessorCount'?: (number);
  'memoryMib'?: (number | string | Long);
  'profile'?: (string);
  'uuid'?: (string);
  'placementStart'?: (number);
}

export interface MigInstance__Output {
  'index': (number);
  'gpuInstanceId': (number);
  'computeInstanceId': (number);
  'multiprocessorCount': (number);
  'memoryMib': (number);
  'profile': (string);
  'uuid': (string);
  'placementStart': (number);
}
