// Original file: proto/gantry/v1/scheduler.proto


export interface ListJobsRequest {
  'state'?: (string);
  'queue'?: (string);
  'owner'?: (string);
}

export interface ListJobsRequest__Output {
  'state': (string);
  'queue': (string);
  'owner': (string);
}
