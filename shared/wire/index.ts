export {
  verdictToPb,
  verdictFromPb,
  inventoryToPb,
  nodeToPb,
  nodeFromPb,
  severityFromPb,
  connectivityToPb,
  connectivityFromPb,
  schedulabilityFromPb,
  jobToPb,
  jobViewFromPb,
  serviceSloToPb,
  serviceSloFromPb,
  latencyEndpointFromPb,
  latencyPeersToPb,
  latencyPeersFromPb,
  eventToPb,
  eventFromPb,
} from './convert.js';
export { inventoryFromPb, labelsFromPb } from './inventory.js';
export type { JobView, ServiceSloView, LatencyEndpointView, LatencyPeerView } from './convert.js';
export { startTaskView, agentCommandToPb, taskStatusFromPb, taskStatusToPb, startTaskLimitsFromPb, START_TASK_BOUNDS } from './tasks.js';
export { usageToPb, usageFromPb } from './usage.js';
export type { TaskStatusView, TaskResourcesView, StartTaskLimits } from './tasks.js';
export type { StartTaskView, StopTaskView, TaskCommandView, AgentCommandView } from './tasks.js';
export type { ClusterTopologyView, TopologyDomainView } from './topology.js';
export { topologyFromPb } from './topology.js';
export { jobFaultToPb, jobFaultFromPb, rankFaultToPb, rankFaultFromPb, JOB_FAULT_BOUNDS, JOB_FAULT_UNKNOWN_GPU } from './job-fault.js';
export type { JobFaultView, RankFaultView } from './job-fault.js';
export { diagnosticResultToPb, diagnosticResultFromPb, DIAGNOSTIC_RESULT_BOUNDS } from './diagnostic.js';
export type { DiagnosticResultWireView } from './diagnostic.js';
