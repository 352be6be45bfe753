// Original file: proto/gantry/v1/scheduler.proto


export interface SubmitJobRequest {
  'spec'?: (string);
  'owner'?: (string);
  'requestId'?: (string);
}

export interface SubmitJobRequest__Output {
  'spec': (string);
  'owner': (string);
  'requestId': (string);
}
