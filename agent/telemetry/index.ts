export { MemoryTelemetrySink, NatsTelemetrySink } from './sink.js';
export type { TelemetrySink } from './sink.js';
