// Original file: proto/gantry/v1/agent.proto

export const TaskState = {
  TASK_STATE_UNSPECIFIED: 'TASK_STATE_UNSPECIFIED',
  TASK_STATE_STARTING: 'TASK_STATE_STARTING',
  TASK_STATE_RUNNING: 'TASK_STATE_RUNNING',
  TASK_STATE_EXITED: 'TASK_STATE_EXITED',
  TASK_STATE_FAILED_TO_START: 'TASK_STATE_FAILED_TO_START',
} as const;

export type TaskState =
  | 'TASK_STATE_UNSPECIFIED'
  | 0
  | 'TASK_STATE_STARTING'
  | 1
  | 'TASK_STATE_RUNNING'
  | 2
  | 'TASK_STATE_EXITED'
  | 3
  | 'TASK_STATE_FAILED_TO_START'
  | 4

export type TaskState__Output = typeof TaskState[keyof typeof TaskState]
