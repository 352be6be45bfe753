// Original file: proto/gantry/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface ReadLog {
  'requestId'?: (string);
  'jobId'?: (string);
  'rank'?: (number);
  'epoch'?: (number | string | Long);
  'offset'?: (number | string | Long);
  'maxBytes'?: (number);
}

export interface ReadLog__Output {
  'requestId': (string);
  'jobId': (string);
  'rank': (number);
  'epoch': (number);
  'offset': (number);
  'maxBytes': (number);
}
