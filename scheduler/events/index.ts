export type { EventBus } from './types.js';
export { MemoryEventBus } from './memory.js';
export { NatsEventBus } from './nats.js';
export type { NatsEventBusOptions } from './nats.js';
