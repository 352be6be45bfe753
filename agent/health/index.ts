/** Health rules (pure, one per file under rules/) and the evaluator that keeps first-seen times. */
export { createHealthEvaluator, runRules, ALL_RULES } from './evaluator.js';
export type { HealthEvaluator, HealthEvaluatorOptions, HealthReport, JobFinding } from './evaluator.js';
export { DEFAULT_HEALTH_CONFIG, DEFAULT_XID_POLICY } from './types.js';
export type { Finding, FindingScope, HealthConfig, HealthInput, IbPolicy, Rule, ThrottlePolicy, XidPolicy } from './types.js';
export { xidRule, judgeXid, XID_CHECK } from './rules/xid.js';
export {
  XID_CATALOG,
  XID_CLASS_OUTCOMES,
  catalogOutcome,
  recoveryKindOf,
  recoveryOutcome,
  xid154Kind,
  REMEDY_RESET_GPU,
  REMEDY_REBOOT,
  REMEDY_CONTACT_SUPPORT,
  REMEDY_CHECK_MECHANICALS,
} from './rules/xid-catalog.js';
export type { RecoveryKind, XidOutcome, XidResolutionClass } from './rules/xid-catalog.js';
export { gpuRecoveryRule, GPU_RECOVERY_CHECK } from './rules/gpu-recovery.js';
export { eccUncorrectableRule, ECC_CHECK } from './rules/ecc-uncorrectable.js';
export { rowRemapRule, ROW_REMAP_CHECK } from './rules/row-remap.js';
export { retiredPagesRule, RETIRED_PAGES_CHECK } from './rules/retired-pages.js';
export { nvlinkRule, nvlinkExpectedByName, NVLINK_CHECK } from './rules/nvlink.js';
export { fabricRule, FABRIC_CHECK } from './rules/fabric.js';
export { gpuCountRule, GPU_COUNT_CHECK } from './rules/gpu-count.js';
export { gpuLostRule, GPU_LOST_CHECK } from './rules/gpu-lost.js';
export { throttleRule, THROTTLE_CHECK } from './rules/throttle.js';
export { infinibandRule, IB_CHECK } from './rules/infiniband.js';
export { probeRule, PROBE_CHECK } from './rules/probe.js';
export { gpuCleanCheck, describeGpuClean } from './gpu-clean.js';
export type { GpuCleanInput, GpuCleanOutcome, GpuCleanReason, GpuCleanReasonKind, GpuId, NodeGpuRef } from './gpu-clean.js';
