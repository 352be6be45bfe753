// Original file: proto/gantry/v1/agent.proto


export interface LatencyPeer {
  'node'?: (string);
  'address'?: (string);
  'port'?: (number);
}

export interface LatencyPeer__Output {
  'node': (string);
  'address': (string);
  'port': (number);
}
