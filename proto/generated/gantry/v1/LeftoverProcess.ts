// Original file: proto/gantry/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface LeftoverProcess {
  'pid'?: (number);
  'user'?: (string);
  'name'?: (string);
  'gpu'?: (number);
  'usedMemoryBytes'?: (number | string | Long);
}

export interface LeftoverProcess__Output {
  'pid': (number);
  'user': (string);
  'name': (string);
  'gpu': (number);
  'usedMemoryBytes': (number);
}
