/** The agent's collectors: bounded runner, vendor collectors and their pure parsers. */
export { createProbeRunner, defaultProbeRunner, DEFAULT_MAX_OUTPUT_BYTES } from './runner.js';
export type { ProbeRunner, RunOptions } from './runner.js';
export type {
  ProbeResult,
  GpuCollector,
  GpuProbe,
  GpuSample,
  GpuFabric,
  EccCounts,
  RetiredPages,
  RemappedRows,
  PcieLink,
  ClockEventReasons,
  ClockEventCounters,
} from './types.js';
export {
  createNvidiaCollector,
  applyTopology,
  parseNvidiaSmiXml,
  isFabricTrusted,
  nodeFabric,
  normaliseBusId,
  parseTopoMatrix,
  deriveLinkGroups,
} from './nvidia/index.js';
export type { NvidiaCollectorOptions, NvidiaSmiXml, NvidiaTopo, TopoDeviceAffinity } from './nvidia/index.js';
