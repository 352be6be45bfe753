export type { EventBus, EventSink } from './types.js';
export { MemoryEventBus } from './memory.js';
export { EventOutbox, MemoryEventSink } from './outbox.js';
export { NatsEventSink } from './nats.js';
export type { NatsEventSinkOptions } from './nats.js';
