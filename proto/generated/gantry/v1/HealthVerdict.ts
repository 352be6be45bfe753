// Original file: proto/gantry/v1/types.proto

import type { Severity as _gantry_v1_Severity, Severity__Output as _gantry_v1_Severity__Output } from '../../gantry/v1/Severity';
import type { Long } from '@grpc/proto-loader';

export interface HealthVerdict {
  'check'?: (string);
  'severity'?: (_gantry_v1_Severity);
  'hasGpu'?: (boolean);
  'gpu'?: (number);
  'evidence'?: (string);
  'firstSeenUnixMs'?: (number | string | Long);
  'action'?: (string);
  'remedy'?: (string);
}

export interface HealthVerdict__Output {
  'check': (string);
  'severity': (_gantry_v1_Severity__Output);
  'hasGpu': (boolean);
  'gpu': (number);
  'evidence': (string);
  'firstSeenUnixMs': (number);
  'action': (string);
  'remedy': (string);
}
