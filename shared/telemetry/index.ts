export {
  LATENCY_SCHEMA_VERSION,
  LATENCY_WIRE_MAGIC,
  LATENCY_WIRE_VERSION,
  LATENCY_BUCKET_LAYOUT,
  encodeLatencyWindow,
  encodeLatencyWindowJson,
  decodeLatencyWindow,
  latencyWireEncoding,
  NameTable,
} from './latency.js';
export type { LatencyWindow, LatencyPeerWindow, LatencyWireEncoding } from './latency.js';
