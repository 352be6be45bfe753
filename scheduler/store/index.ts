export type { StateStore, OutboxEntry, StoreCommit } from './types.js';
export { STORE_SCHEMA_VERSION } from './types.js';
export { MemoryStore } from './memory.js';
export { LmdbStore } from './lmdb.js';
