// Original file: proto/gantry/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface StopTask {
  'jobId'?: (string);
  'rank'?: (number);
  'epoch'?: (number | string | Long);
  'graceSeconds'?: (number);
  'reason'?: (string);
  'term'?: (number | string | Long);
}

export interface StopTask__Output {
  'jobId': (string);
  'rank': (number);
  'epoch': (number);
  'graceSeconds': (number);
  'reason': (string);
  'term': (number);
}
