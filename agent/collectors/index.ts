/**
 * The agent's collectors (the shell around agent/core/): the bounded probe runner, and the vendor
 * and host collectors that run the tools and read the files. What they parse with, and the types
 * they return, are the pure core's (agent/core/index.ts).
 */
export { createProbeRunner, defaultProbeRunner, DEFAULT_MAX_OUTPUT_BYTES } from './runner.js';
export type { ProbeRunner, RunOptions } from './runner.js';
export { createNvidiaCollector, applyTopology } from './nvidia/index.js';
export type { NvidiaCollectorOptions } from './nvidia/index.js';
export { createHostCollector, readInfiniband, createKernelLogReader } from './host/index.js';
export type { HostCollector, HostCollectorOptions, InfinibandReaderOptions, KernelLogReader, KernelLogReaderOptions } from './host/index.js';
export { createAmdCollector, ROCM_SMI_ARGS, readKfdTopology } from './amd/index.js';
export type { AmdCollectorOptions, KfdReaderOptions } from './amd/index.js';
