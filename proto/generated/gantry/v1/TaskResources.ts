// Original file: proto/gantry/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface TaskResources {
  'memoryBytes'?: (number | string | Long);
  'maxProcesses'?: (number);
  'cpuBinding'?: (string);
}

export interface TaskResources__Output {
  'memoryBytes': (number);
  'maxProcesses': (number);
  'cpuBinding': (string);
}
