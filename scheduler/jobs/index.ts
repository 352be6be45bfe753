export { JobManager } from './manager.js';
export type { JobManagerOptions, JobManagerDeps, TaskReport } from './manager.js';
export { rankEnv, pickMasterPort, requeueDelayMs } from './rank-env.js';
