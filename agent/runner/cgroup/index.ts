/**
 * Rank containment's cgroups (issue 19, part 1): detect the host's layout once at start
 * (detectHostLayout: pure detectLayout over /proc/self/mountinfo, /proc/self/cgroup and the v2 root's
 * cgroup.controllers), say what is enforced (describeEnforcement: the start-up line and the
 * gantry_agent_containment_enforced{feature,via} gauge values), then make one FsCgroupManager
 * (cgroupRoot: `runner.cgroupRoot`; applyDevices: the device-rule writer) and call prepare() before
 * the first rank (create() also does). MemoryCgroupManager is its twin for tests.
 */
export type {
  CgroupLayout,
  CgroupLayoutKind,
  CgroupManager,
  DeviceRule,
  Enforced,
  RankCgroups,
  RankContainment,
  RankLimits,
  RankUsage,
} from './types.js';
export { detectLayout, parseCgroupMounts, parseProcCgroup, pathBelowMount, V1_CONTROLLERS } from './layout.js';
export type { CgroupMount, DetectInput, DetectedLayout, OwnCgroups } from './layout.js';
export { planBase, validateCgroupRoot, taskCgroupName, parseTaskCgroupName, joinCgroupPath, ROOT_FALLBACK, AGENT_LEAF } from './base.js';
export type { BasePlan, HierarchyPlan } from './base.js';
export { describeEnforcement, CONTAINMENT_FEATURES } from './describe.js';
export type { ContainmentFeature, EnforcementDescription, EnforcementGauge } from './describe.js';
export { flatKeyedValue, singleValue, formatCpuList } from './parse-usage.js';
export { CgroupError } from './errors.js';
export { validateRankLimits } from './limits.js';
export { FsCgroupManager } from './fs-manager.js';
export type { DeviceApplier, FsCgroupManagerOptions } from './fs-manager.js';
export { MemoryCgroupManager, MEMORY_TWIN_LAYOUT } from './memory-manager.js';
export type { MemoryCgroupManagerOptions } from './memory-manager.js';
export { detectHostLayout } from './host.js';
export type { HostLayoutOptions } from './host.js';
export { deviceRules, rankDeviceRequest, BASELINE_RULES, formatDeviceRule, rulesAllow } from './devices.js';
export type { DeviceFile, DeviceRequest, DeviceRulesResult } from './devices.js';
export { allocateCpus, cpuTopologyFromGpus, parseCpuList } from './cpus.js';
export type { CpuAllocation, CpuBinding, CpuRequest, CpuTopology } from './cpus.js';
export { readNodeCpus } from './node-cpus.js';
export { scanDevices } from './device-scan.js';
export { createDeviceApplier, attachDeviceProgram, writeV1DeviceRules, defaultDeviceHelperPath } from './device-program.js';
export { createDeferredDevices, createRankContainment } from './containment.js';
export type { AgentRankContainment, ContainedGpu, DeferredDevices, RankContainmentOptions } from './containment.js';
