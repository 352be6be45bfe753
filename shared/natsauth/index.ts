export { natsAuth, userPublicKey } from './generate.js';
export type { NatsAuth, NatsAuthOptions, NatsSeeds } from './generate.js';
export { EVENTS_SEED_FILE, NATS_AUTH_CONF_FILE, SCHEDULER_SEED_FILE, generateNatsAuthDir, nodeSeedFile, readNatsSeeds, writeNatsAuth } from './files.js';
export type { NatsAuthFiles } from './files.js';
export { INBOX_SUBJECT_ALL, authorizationConf, eventsReaderPermissions, nodePermissions, schedulerPermissions } from './permissions.js';
export type { NatsPermissions, NatsUserEntry } from './permissions.js';
