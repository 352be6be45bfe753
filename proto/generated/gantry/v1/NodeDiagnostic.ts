// Original file: proto/gantry/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface NodeDiagnostic {
  'atUnixMs'?: (number | string | Long);
  'passed'?: (boolean);
  'command'?: (string);
  'summary'?: (string);
  'tries'?: (number);
}

export interface NodeDiagnostic__Output {
  'atUnixMs': (number);
  'passed': (boolean);
  'command': (string);
  'summary': (string);
  'tries': (number);
}
