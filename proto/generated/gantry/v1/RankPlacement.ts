// Original file: proto/gantry/v1/scheduler.proto

import type { TaskUsage as _gantry_v1_TaskUsage, TaskUsage__Output as _gantry_v1_TaskUsage__Output } from '../../gantry/v1/TaskUsage';

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
  'endedBy'?: (string);
  'usage'?: (_gantry_v1_TaskUsage | null);
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
  'endedBy': (string);
  'usage': (_gantry_v1_TaskUsage__Output | null);
}
