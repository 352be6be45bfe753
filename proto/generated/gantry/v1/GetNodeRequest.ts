// Original file: proto/gantry/v1/scheduler.proto


export interface GetNodeRequest {
  'name'?: (string);
}

export interface GetNodeRequest__Output {
  'name': (string);
}
