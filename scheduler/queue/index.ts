export { pendingOrder } from './order.js';
export { AdmissionOrder, DEFAULT_QUEUE, decayedUsage, jobGpus, jobMinGpus, lostWorkGpuMs, mayPreempt, quotaBlock } from './policy.js';
export type { QueueConfig } from './policy.js';
