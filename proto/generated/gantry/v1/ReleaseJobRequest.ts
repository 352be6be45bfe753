// Original file: proto/gantry/v1/scheduler.proto


export interface ReleaseJobRequest {
  'id'?: (string);
}

export interface ReleaseJobRequest__Output {
  'id': (string);
}
