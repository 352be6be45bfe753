export { startMetricsServer } from './http.js';
export type { MetricsServer } from './http.js';
export { registerProcessMetrics } from './process.js';
