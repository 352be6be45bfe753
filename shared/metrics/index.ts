export { startMetricsServer } from './http.js';
export type { MetricsServer } from './http.js';
export { registerProcessMetrics } from './process.js';
export { registerEventLoopDelay, EVENT_LOOP_RESOLUTION_MS } from './event-loop.js';
