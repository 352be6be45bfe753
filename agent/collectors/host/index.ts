export { createHostCollector } from './host-collector.js';
export type { HostCollector, HostCollectorOptions } from './host-collector.js';
export { readInfiniband } from './infiniband.js';
export type { InfinibandReaderOptions } from './infiniband.js';
export { createKernelLogReader } from './kernel-log.js';
export type { KernelLogReader, KernelLogReaderOptions } from './kernel-log.js';
