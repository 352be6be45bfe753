// Original file: proto/gantry/v1/types.proto


export interface LinkMatrixRow {
  'cells'?: (string)[];
}

export interface LinkMatrixRow__Output {
  'cells': (string)[];
}
