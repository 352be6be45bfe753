// Original file: proto/gantry/v1/types.proto


export interface Firmware {
  'driverVersion'?: (string);
  'cudaVersion'?: (string);
  'tool'?: (string);
}

export interface Firmware__Output {
  'driverVersion': (string);
  'cudaVersion': (string);
  'tool': (string);
}
