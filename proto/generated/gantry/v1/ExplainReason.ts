// Original file: proto/gantry/v1/scheduler.proto


export interface ExplainReason {
  'level'?: (string);
  'reason'?: (string);
  'count'?: (number);
}

export interface ExplainReason__Output {
  'level': (string);
  'reason': (string);
  'count': (number);
}
