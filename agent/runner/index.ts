export type {
  TaskKey,
  TaskSpec,
  TaskSlo,
  TaskState,
  TaskStatus,
  TaskRunner,
  TaskRunnerOptions,
  LogTarget,
  ReadLogOptions,
  LogChunk,
  WarmPoolStatus,
  TaskHolding,
} from './types.js';
export { createTaskRunner } from './runner.js';
export { defaultSupervisorPath, defaultNativeSupervisorPath } from './launcher.js';
export type { SupervisorLauncher, LaunchHost } from './launcher.js';
export {
  validateJobId,
  validateTaskKey,
  validateTaskSpec,
  validateGraceSeconds,
  taskKeyString,
  sameKey,
  compareKeys,
  RunAsRefusedError,
} from './validate.js';
export { FILES as TASK_FILES, taskDir, tasksRoot } from './layout.js';
export { parsePasswdLine, lookupUser } from './users.js';
export type { PasswdEntry } from './users.js';
export { utf8CompleteLength } from './rotating-log.js';
export { parseProcStat } from './procfs.js';
export type { ProcStat } from './procfs.js';
