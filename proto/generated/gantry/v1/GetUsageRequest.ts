// Original file: proto/gantry/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface GetUsageRequest {
  'by'?: (string);
  'sinceUnixMs'?: (number | string | Long);
  'untilUnixMs'?: (number | string | Long);
  'user'?: (string);
}

export interface GetUsageRequest__Output {
  'by': (string);
  'sinceUnixMs': (number);
  'untilUnixMs': (number);
  'user': (string);
}
