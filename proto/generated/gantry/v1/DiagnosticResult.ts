// Original file: proto/gantry/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface DiagnosticResult {
  'requestId'?: (string);
  'passed'?: (boolean);
  'command'?: (string);
  'outputTail'?: (string);
  'startedUnixMs'?: (number | string | Long);
  'finishedUnixMs'?: (number | string | Long);
  'error'?: (string);
}

export interface DiagnosticResult__Output {
  'requestId': (string);
  'passed': (boolean);
  'command': (string);
  'outputTail': (string);
  'startedUnixMs': (number);
  'finishedUnixMs': (number);
  'error': (string);
}
