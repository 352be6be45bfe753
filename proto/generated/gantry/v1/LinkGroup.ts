// Original file: proto/gantry/v1/types.proto


export interface LinkGroup {
  'kind'?: (string);
  'gpus'?: (number)[];
}

export interface LinkGroup__Output {
  'kind': (string);
  'gpus': (number)[];
}
