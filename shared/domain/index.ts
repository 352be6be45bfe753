export type {
  Connectivity,
  Schedulability,
  Severity,
  Vendor,
  LinkGroup,
  GpuInfo,
  MigInstance,
  GpuPlatform,
  HcaPort,
  HcaInfo,
  HostInfo,
  FirmwareInfo,
  FabricInfo,
  LinkMatrix,
  NodeTopology,
  Inventory,
  HealthVerdict,
  HealthAction,
  ControlPlaneMember,
  ControlPlaneRole,
  NodeRecord,
  NodeDiagnostic,
} from './types.js';
export { emptyInventory, worstSeverity, HEALTH_ACTIONS, verdictAction } from './types.js';
export { INVENTORY_LIMITS } from './limits.js';
export type { JobState, RankState, RankRecord, JobRecord, JobHold, RequeueCause, StartRefusal, RankEndCause, RankUsage, JobFaultRecord } from './jobs.js';
export { ACTIVE_JOB_STATES, TERMINAL_JOB_STATES, START_REFUSALS, RANK_END_CAUSES, rankEpoch, jobRunAs, MAX_JOB_FAULTS } from './jobs.js';
export type { UsageEntry, RankUsageEntry, NodeUsageEntry, NodeUsageState } from './usage.js';
export { usageKey, NODE_USAGE_STATES } from './usage.js';
export type { FirmwareField, FirmwareValues, NodeFirmwareDrift, FirmwareNodeInput } from './firmware-drift.js';
export { FIRMWARE_FIELDS, FLEET_LEVEL, firmwareValues, firmwareDrift, driftCounts, driftDomains } from './firmware-drift.js';
