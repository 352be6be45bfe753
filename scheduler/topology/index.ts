export type { TopologyNodeInput, BuildOptions } from './tree.js';
export { TopologyTree, buildTopology, NODE_LEVEL, ROOT_LEVEL } from './tree.js';
export type { NodeState, GpuClaim, UnusableReason, DegradedMode } from './snapshot.js';
export { ClusterSnapshot, GPU_FREE, GPU_USED, GPU_UNHEALTHY } from './snapshot.js';
export type { ClusterDescription, LoadedCluster } from './cluster-file.js';
export { validateClusterDescription, loadClusterText } from './cluster-file.js';
export { degradedNvlinkDomains, nodeInputFromRecord, nodeStateFromRecord, recordProblem, NVLINK_LEVEL } from './from-records.js';
export { naturalCompare } from './natural.js';
