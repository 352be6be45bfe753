export type {
  Connectivity,
  Schedulability,
  Severity,
  Vendor,
  LinkGroup,
  GpuInfo,
  HcaPort,
  HcaInfo,
  HostInfo,
  FirmwareInfo,
  FabricInfo,
  LinkMatrix,
  NodeTopology,
  Inventory,
  HealthVerdict,
  NodeRecord,
} from './types.js';
export { emptyInventory, worstSeverity } from './types.js';
