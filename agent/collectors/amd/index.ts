export { createAmdCollector, ROCM_SMI_ARGS } from './collector.js';
export type { AmdCollectorOptions } from './collector.js';
export { parseRocmSmiJson } from './parse-rocm-smi.js';
export type { RocmSmiReport } from './parse-rocm-smi.js';
export { parseKfdTopology, parseProperties } from './parse-kfd.js';
export type { KfdFiles, KfdLink, KfdNode, KfdTopology } from './parse-kfd.js';
export { readKfdTopology } from './kfd.js';
export type { KfdReaderOptions } from './kfd.js';
