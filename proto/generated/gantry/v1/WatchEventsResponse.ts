// Original file: proto/gantry/v1/scheduler.proto


export interface WatchEventsResponse {
  'subject'?: (string);
  'kind'?: (string);
  'type'?: (string);
  'at'?: (string);
  'json'?: (string);
}

export interface WatchEventsResponse__Output {
  'subject': (string);
  'kind': (string);
  'type': (string);
  'at': (string);
  'json': (string);
}
