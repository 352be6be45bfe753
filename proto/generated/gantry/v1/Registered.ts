// Original file: proto/gantry/v1/agent.proto


export interface Registered {
  'schedulerId'?: (string);
  'reportIntervalMs'?: (number);
}

export interface Registered__Output {
  'schedulerId': (string);
  'reportIntervalMs': (number);
}
