// Original file: proto/gantry/v1/agent.proto

import type { TaskState as _gantry_v1_TaskState, TaskState__Output as _gantry_v1_TaskState__Output } from '../../gantry/v1/TaskState';
import type { TaskUsage as _gantry_v1_TaskUsage, TaskUsage__Output as _gantry_v1_TaskUsage__Output } from '../../gantry/v1/TaskUsage';
import type { Long } from '@grpc/proto-loader';

export interface TaskStatus {
  'jobId'?: (string);
  'rank'?: (number);
  'epoch'?: (number | string | Long);
  'state'?: (_gantry_v1_TaskState);
  'exitCode'?: (number);
  'signal'?: (string);
  'startedUnixMs'?: (number | string | Long);
  'finishedUnixMs'?: (number | string | Long);
  'message'?: (string);
  'checkpointUnixMs'?: (number | string | Long);
  'refusal'?: (string);
  'endedBy'?: (string);
  'usage'?: (_gantry_v1_TaskUsage | null);
}

export interface TaskStatus__Output {
  'jobId': (string);
  'rank': (number);
  'epoch': (number);
  'state': (_gantry_v1_TaskState__Output);
  'exitCode': (number);
  'signal': (string);
  'startedUnixMs': (number);
  'finishedUnixMs': (number);
  'message': (string);
  'checkpointUnixMs': (number);
  'refusal': (string);
  'endedBy': (string);
  'usage': (_gantry_v1_TaskUsage__Output | null);
}
