export { LatencyService, interfaceAddress } from './service.js';
export type { LatencyOptions } from './service.js';
export { encodeProbe, decodeProbe, WindowStats, PROBE_BYTES } from './packet.js';
