export { JobManager } from './manager.js';
export type { JobManagerOptions, JobManagerDeps, TaskReport, DomainView } from './manager.js';
export { step, submitted, requeue } from './lifecycle.js';
export type { LifecycleEvent, LifecycleContext, JobCommand, Outcome, RankReport } from './lifecycle.js';
export { causeText, usesRetry } from './causes.js';
export { rankEnv, unitIndex, pickMasterPort, requeueDelayMs } from './rank-env.js';
export type { UnitIndex } from './rank-env.js';
