// Original file: proto/gantry/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface GetClusterUsageRequest {
  'sinceUnixMs'?: (number | string | Long);
  'untilUnixMs'?: (number | string | Long);
}

export interface GetClusterUsageRequest__Output {
  'sinceUnixMs': (number);
  'untilUnixMs': (number);
}
