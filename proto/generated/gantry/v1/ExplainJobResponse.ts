// Original file: proto/gantry/v1/scheduler.proto

import type { ExplainReason as _gantry_v1_ExplainReason, ExplainReason__Output as _gantry_v1_ExplainReason__Output } from '../../gantry/v1/ExplainReason';

export interface ExplainJobResponse {
  'id'?: (string);
  'state'?: (string);
  'fitsNow'?: (boolean);
  'reasons'?: (_gantry_v1_ExplainReason)[];
  'text'?: (string);
}

export interface ExplainJobResponse__Output {
  'id': (string);
  'state': (string);
  'fitsNow': (boolean);
  'reasons': (_gantry_v1_ExplainReason__Output)[];
  'text': (string);
}
