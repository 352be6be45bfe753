export { freePort, portIsFree, waitForPort, startChild, packageRoot, gantryEntry, processesMentioning, stopProcessesMentioning } from './procs.js';
export type { Child } from './procs.js';
export { cgroupMounts, removeCgroupTree } from './cgroups.js';
export { startNatsCluster, jetStreamReady } from './nats-cluster.js';
export type { NatsCluster, NatsClusterServer, NatsClusterOptions } from './nats-cluster.js';
