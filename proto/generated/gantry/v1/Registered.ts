// Original file: proto/gantry/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface Registered {
  'schedulerId'?: (string);
  'reportIntervalMs'?: (number);
  'term'?: (number | string | Long);
}

export interface Registered__Output {
  'schedulerId': (string);
  'reportIntervalMs': (number);
  'term': (number);
}
