// Original file: proto/gantry/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface ReadLogsResponse {
  'node'?: (string);
  'data'?: (string);
  'nextOffset'?: (number | string | Long);
  'eof'?: (boolean);
  'finished'?: (boolean);
}

export interface ReadLogsResponse__Output {
  'node': (string);
  'data': (string);
  'nextOffset': (number);
  'eof': (boolean);
  'finished': (boolean);
}
