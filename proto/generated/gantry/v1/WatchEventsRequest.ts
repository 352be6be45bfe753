// Original file: proto/gantry/v1/scheduler.proto


export interface WatchEventsRequest {
  'jobId'?: (string);
  'node'?: (string);
  'kind'?: (string);
}

export interface WatchEventsRequest__Output {
  'jobId': (string);
  'node': (string);
  'kind': (string);
}
