/** The agent's collectors: bounded runner, vendor and host collectors, and their pure parsers. */
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
  xmlWellFormedError,
  isFabricTrusted,
  nodeFabric,
  normaliseBusId,
  parseTopoMatrix,
  deriveLinkGroups,
  parseNvlinkStatus,
  parseQueryGpuCsv,
  sampleFromRow,
  judgeLightAnswer,
  invalidQueryField,
  adaptFields,
  legacyField,
  LIGHT_QUERY_FIELDS,
  IDENTITY_FIELDS,
} from './nvidia/index.js';
export type {
  NvidiaCollectorOptions,
  NvidiaSmiXml,
  NvidiaTopo,
  TopoDeviceAffinity,
  NvlinkGpuStatus,
  NvlinkLink,
  QueryGpuCsv,
  QueryRow,
  LightVerdict,
} from './nvidia/index.js';
export {
  createHostCollector,
  toHostInfo,
  parseHostFactsJson,
  readInfiniband,
  hcaFromSysfs,
  parseIbstat,
  sysfsRateGbps,
  sysfsStateName,
  createKernelLogReader,
  parseXidLine,
  parseXidLog,
  pciBusDevice,
} from './host/index.js';
export type {
  HostCollector,
  HostCollectorOptions,
  HostFacts,
  InfinibandReaderOptions,
  SysfsHcaFiles,
  SysfsPortFiles,
  KernelLogReader,
  KernelLogReaderOptions,
  XidEvent,
} from './host/index.js';
export { createAmdCollector, ROCM_SMI_ARGS, parseRocmSmiJson, parseKfdTopology, parseProperties, readKfdTopology } from './amd/index.js';
export type { AmdCollectorOptions, RocmSmiReport, KfdFiles, KfdLink, KfdNode, KfdTopology, KfdReaderOptions } from './amd/index.js';
