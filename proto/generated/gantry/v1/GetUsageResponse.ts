// Original file: proto/gantry/v1/scheduler.proto

import type { UsageRow as _gantry_v1_UsageRow, UsageRow__Output as _gantry_v1_UsageRow__Output } from '../../gantry/v1/UsageRow';
import type { Long } from '@grpc/proto-loader';

export interface GetUsageResponse {
  'rows'?: (_gantry_v1_UsageRow)[];
  'sinceUnixMs'?: (number | string | Long);
  'untilUnixMs'?: (number | string | Long);
  'by'?: (string);
}

export interface GetUsageResponse__Output {
  'rows': (_gantry_v1_UsageRow__Output)[];
  'sinceUnixMs': (number);
  'untilUnixMs': (number);
  'by': (string);
}
