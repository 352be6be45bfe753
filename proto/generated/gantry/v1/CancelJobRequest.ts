// Original file: proto/gantry/v1/scheduler.proto


export interface CancelJobRequest {
  'id'?: (string);
  'reason'?: (string);
}

export interface CancelJobRequest__Output {
  'id': (string);
  'reason': (string);
}
