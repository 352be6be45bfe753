export { JobManager } from './manager.js';
export { checkRequestId, MAX_REQUEST_ID_LENGTH } from './request-ids.js';
export type { JobManagerOptions, JobManagerDeps, Submitter, TaskReport } from './manager.js';
export { rankEnv, unitIndex, pickMasterPort, requeueDelayMs } from './rank-env.js';
export type { UnitIndex } from './rank-env.js';
export { createFaultIntake, faultRecord } from './faults.js';
export type { FaultApplied, FaultIntakeDeps } from './faults.js';
