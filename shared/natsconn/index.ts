export { natsClientShape, natsConnectionOptions } from './options.js';
export type { NatsClientConfig } from './options.js';
