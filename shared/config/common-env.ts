/**
 * Environment bindings every daemon shares: each has a `nats` block (natsClientShape) and a `log`
 * block (logSchema), and reads them from the same variables.
 */
import type { EnvBinding } from './load.js';

/**
 * GANTRY_NATS_URL/USER/PASS/TOKEN/NKEY_SEED_FILE -> nats.servers/user/pass/token/nkeySeedFile;
 * GANTRY_LOG_LEVEL/FORMAT -> log.level/format.
 */
export function natsAndLogEnv(): EnvBinding[] {
  return [
    { env: 'GANTRY_NATS_URL', key: 'nats.servers' },
    { env: 'GANTRY_NATS_USER', key: 'nats.user' },
    { env: 'GANTRY_NATS_PASS', key: 'nats.pass' },
    { env: 'GANTRY_NATS_TOKEN', key: 'nats.token' },
    { env: 'GANTRY_NATS_NKEY_SEED_FILE', key: 'nats.nkeySeedFile' },
    { env: 'GANTRY_LOG_LEVEL', key: 'log.level' },
    { env: 'GANTRY_LOG_FORMAT', key: 'log.format' },
  ];
}
