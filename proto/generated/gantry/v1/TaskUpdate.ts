// Original file: proto/gantry/v1/agent.proto

import type { TaskStatus as _gantry_v1_TaskStatus, TaskStatus__Output as _gantry_v1_TaskStatus__Output } from '../../gantry/v1/TaskStatus';

export interface TaskUpdate {
  'status'?: (_gantry_v1_TaskStatus | null);
}

export interface TaskUpdate__Output {
  'status': (_gantry_v1_TaskStatus__Output | null);
}
