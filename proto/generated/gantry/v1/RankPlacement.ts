// Original file: proto/gantry/v1/scheduler.proto


export interface RankPlacement {
  'rank'?: (number);
  'unit'?: (number);
  'node'?: (string);
  'gpus'?: (number)[];
  'topologyAddress'?: (string);
  'state'?: (string);
  'exitCode'?: (number);
  'signal'?: (string);
  'startError'?: (string);
  'masterPort'?: (number);
}

export interface RankPlacement__Output {
  'rank': (number);
  'unit': (number);
  'node': (string);
  'gpus': (number)[];
  'topologyAddress': (string);
  'state': (string);
  'exitCode': (number);
  'signal': (string);
  'startError': (string);
  'masterPort': (number);
}
