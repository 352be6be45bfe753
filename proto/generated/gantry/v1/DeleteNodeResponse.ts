// Original file: proto/gantry/v1/scheduler.proto


export interface DeleteNodeResponse {
  'name'?: (string);
}

export interface DeleteNodeResponse__Output {
  'name': (string);
}
