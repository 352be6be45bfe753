export { createNvidiaCollector, applyTopology } from './collector.js';
export type { NvidiaCollectorOptions } from './collector.js';
