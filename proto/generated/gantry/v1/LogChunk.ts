// Original file: proto/gantry/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface LogChunk {
  'requestId'?: (string);
  'data'?: (string);
  'nextOffset'?: (number | string | Long);
  'eof'?: (boolean);
  'error'?: (string);
}

export interface LogChunk__Output {
  'requestId': (string);
  'data': (string);
  'nextOffset': (number);
  'eof': (boolean);
  'error': (string);
}
