// Original file: proto/gantry/v1/scheduler.proto


export interface NodeActionRequest {
  'name'?: (string);
  'reason'?: (string);
  'deadlineSeconds'?: (number);
}

export interface NodeActionRequest__Output {
  'name': (string);
  'reason': (string);
  'deadlineSeconds': (number);
}
