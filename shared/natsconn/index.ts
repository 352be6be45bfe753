export { natsClientShape, natsConnectionOptions } from './options.js';
export type { NatsClientConfig } from './options.js';
export { connectUntil, warnOnPermissionErrors } from './connect.js';
export type { ConnectUntilOptions } from './connect.js';
