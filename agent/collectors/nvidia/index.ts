export { createNvidiaCollector, applyTopology } from './collector.js';
export type { NvidiaCollectorOptions } from './collector.js';
export { parseNvidiaSmiXml, isFabricTrusted, nodeFabric, normaliseBusId, leadingNumber, xmlWellFormedError } from './parse-xml.js';
export type { NvidiaSmiXml } from './parse-xml.js';
export { parseTopoMatrix, deriveLinkGroups } from './parse-topo.js';
export type { NvidiaTopo, TopoDeviceAffinity } from './parse-topo.js';
export { parseNvlinkStatus } from './parse-nvlink.js';
export {
  parseQueryGpuCsv,
  sampleFromRow,
  judgeLightAnswer,
  invalidQueryField,
  adaptFields,
  legacyField,
  LIGHT_QUERY_FIELDS,
  IDENTITY_FIELDS,
} from './parse-query-csv.js';
export type { QueryGpuCsv, QueryRow, LightVerdict } from './parse-query-csv.js';
export type { NvlinkGpuStatus, NvlinkLink } from './parse-nvlink.js';
