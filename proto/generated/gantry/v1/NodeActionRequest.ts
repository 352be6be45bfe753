// Original file: proto/gantry/v1/scheduler.proto


export interface NodeActionRequest {
  'name'?: (string);
  'reason'?: (string);
}

export interface NodeActionRequest__Output {
  'name': (string);
  'reason': (string);
}
