export { LATENCY_SCHEMA_VERSION, encodeLatencyWindow, decodeLatencyWindow } from './latency.js';
export type { LatencyWindow, LatencyPeerWindow } from './latency.js';
