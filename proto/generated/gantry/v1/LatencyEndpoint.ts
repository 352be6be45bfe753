// Original file: proto/gantry/v1/agent.proto


export interface LatencyEndpoint {
  'address'?: (string);
  'port'?: (number);
}

export interface LatencyEndpoint__Output {
  'address': (string);
  'port': (number);
}
