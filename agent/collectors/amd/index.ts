export { createAmdCollector, ROCM_SMI_ARGS } from './collector.js';
export type { AmdCollectorOptions } from './collector.js';
export { readKfdTopology } from './kfd.js';
export type { KfdReaderOptions } from './kfd.js';
