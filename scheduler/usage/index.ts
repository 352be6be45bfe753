export { UsageService, USAGE_PRUNE_INTERVAL_MS, DAY_MS, type UsageServiceOptions } from './service.js';
export { NodeHistory } from './node-history.js';
export { usageChanges, rankEntry, type UsageChanges } from './records.js';
export { usageReport, rankGpuMs, overlapMs, USAGE_GROUPS, MS_PER_HOUR, type UsageGroup, type UsageRow, type UsageWindow } from './report.js';
export { clusterUtilisation, type Utilisation } from './utilisation.js';
export { pruneKeys, nodeEntry, nodeUsageState } from './retention.js';
