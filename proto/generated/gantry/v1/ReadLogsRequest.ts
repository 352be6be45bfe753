// Original file: proto/gantry/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface ReadLogsRequest {
  'jobId'?: (string);
  'rank'?: (number);
  'offset'?: (number | string | Long);
  'maxBytes'?: (number);
}

export interface ReadLogsRequest__Output {
  'jobId': (string);
  'rank': (number);
  'offset': (number);
  'maxBytes': (number);
}
