/**
 * The agent's pure core: the collector types and the parsers of every tool's output (nvidia-smi,
 * rocm-smi, KFD sysfs, kernel log, InfiniBand, host facts). No I/O, no clock, no randomness: it
 * imports nothing from node:*, @grpc/*, nats, lmdb, pino or any shell module, only shared/domain,
 * shared/errors and fast-xml-parser. The shell (agent/collectors/) runs the tools and reads the
 * files; agent/health/ judges what these return.
 */
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
  GpuMetricReadings,
} from './types.js';
export { parseNvidiaSmiXml, isFabricTrusted, nodeFabric, normaliseBusId, leadingNumber, xmlWellFormedError } from './nvidia/parse-xml.js';
export type { NvidiaSmiXml } from './nvidia/parse-xml.js';
export { parseTopoMatrix, deriveLinkGroups } from './nvidia/parse-topo.js';
export type { NvidiaTopo, TopoDeviceAffinity } from './nvidia/parse-topo.js';
export { parseNvlinkStatus, nvlinkStateText } from './nvidia/parse-nvlink.js';
export type { NvlinkGpuStatus, NvlinkLink } from './nvidia/parse-nvlink.js';
export {
  parseQueryGpuCsv,
  sampleFromRow,
  judgeLightAnswer,
  invalidQueryField,
  adaptFields,
  legacyField,
  LIGHT_QUERY_FIELDS,
  IDENTITY_FIELDS,
} from './nvidia/parse-query-csv.js';
export type { QueryGpuCsv, QueryRow, LightVerdict } from './nvidia/parse-query-csv.js';
export { METRIC_QUERY_FIELDS, metricReadingsFromRow, metricReadingsFromXml } from './nvidia/parse-metric-readings.js';
export { parseComputeAppsCsv, parseXmlProcesses, COMPUTE_APPS_FIELDS } from './nvidia/parse-processes.js';
export type { GpuProcess, GpuProcessType } from './nvidia/parse-processes.js';
export { parseRocmSmiJson } from './amd/parse-rocm-smi.js';
export { amdDriverVersion, mergeAmdStatic, parseAmdSmiStatic } from './amd/parse-amd-smi.js';
export type { AmdSmiStatic } from './amd/parse-amd-smi.js';
export type { RocmSmiReport } from './amd/parse-rocm-smi.js';
export { parseKfdTopology, parseProperties, renderMinorOf } from './amd/parse-kfd.js';
export type { KfdFiles, KfdLink, KfdNode, KfdTopology } from './amd/parse-kfd.js';
export { toHostInfo, parseHostFactsJson } from './host/host-info.js';
export type { HostFacts } from './host/host-info.js';
export { hcaFromSysfs, parseIbstat, sysfsRateGbps, sysfsStateName } from './host/parse-infiniband.js';
export type { SysfsHcaFiles, SysfsPortFiles } from './host/parse-infiniband.js';
export { parseXidLine, parseXidLog, pciBusDevice } from './host/parse-xid.js';
export type { XidEvent } from './host/parse-xid.js';
export { judgeTerm } from './term.js';
export type { TermJudgement } from './term.js';
