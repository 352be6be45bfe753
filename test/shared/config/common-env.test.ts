/** The NATS and log environment variables, bound once (natsAndLogEnv) and read alike by the agent and the scheduler. */
import t from 'tap';
import { loadConfig, natsAndLogEnv } from '../../../shared/config/index.js';
import { ConfigError } from '../../../shared/errors/index.js';
import { schedulerConfigSchema, schedulerEnv } from '../../../scheduler/config.js';
import { agentConfigSchema, agentEnv } from '../../../agent/config.js';

const daemons = [
  { name: 'agent', load: (env: NodeJS.ProcessEnv) => loadConfig(agentConfigSchema, { env, envBindings: agentEnv, sets: [] }) },
  { name: 'scheduler', load: (env: NodeJS.ProcessEnv) => loadConfig(schedulerConfigSchema, { env, envBindings: schedulerEnv, sets: [] }) },
];

interface Case {
  env: string;
  value: string;
  /** Where the value lands, as a dotted key, and what it becomes. */
  key: string;
  want: unknown;
}

const cases: Case[] = [
  { env: 'GANTRY_NATS_URL', value: 'nats://a:4222,nats://b:4223', key: 'nats.servers', want: ['nats://a:4222', 'nats://b:4223'] },
  { env: 'GANTRY_NATS_URL', value: 'nats://only:4222', key: 'nats.servers', want: ['nats://only:4222'] },
  { env: 'GANTRY_NATS_USER', value: 'alice', key: 'nats.user', want: 'alice' },
  { env: 'GANTRY_NATS_PASS', value: 's3cret', key: 'nats.pass', want: 's3cret' },
  { env: 'GANTRY_NATS_TOKEN', value: 'tok-123', key: 'nats.token', want: 'tok-123' },
  { env: 'GANTRY_NATS_NKEY_SEED_FILE', value: '/etc/gantry/nats/scheduler.nk', key: 'nats.nkeySeedFile', want: '/etc/gantry/nats/scheduler.nk' },
  { env: 'GANTRY_LOG_LEVEL', value: 'debug', key: 'log.level', want: 'debug' },
  { env: 'GANTRY_LOG_FORMAT', value: 'json', key: 'log.format', want: 'json' },
  // An empty variable is unset: the default stays.
  { env: 'GANTRY_LOG_LEVEL', value: '', key: 'log.level', want: 'info' },
];

function at(config: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], config);
}

for (const d of daemons) {
  for (const c of cases) {
    t.test(`${d.name}: ${c.env}=${JSON.stringify(c.value)} sets ${c.key}`, async (t) => {
      t.same(at(d.load({ [c.env]: c.value }), c.key), c.want);
    });
  }
  t.test(`${d.name}: a bad value is a ConfigError naming the key`, async (t) => {
    t.throws(() => d.load({ GANTRY_LOG_FORMAT: 'loud' }), ConfigError);
    t.throws(() => d.load({ GANTRY_LOG_FORMAT: 'loud' }), { message: /log\.format/ });
  });
}

t.test('the table covers every shared binding, and both daemons bind them all', async (t) => {
  const shared = natsAndLogEnv();
  t.same([...new Set(cases.map((c) => c.env))].sort(), shared.map((b) => b.env).sort(), 'one case or more per variable');
  for (const c of cases) t.ok(shared.some((b) => b.env === c.env && b.key === c.key), `${c.env} -> ${c.key}`);
  for (const [name, env] of [['agent', agentEnv], ['scheduler', schedulerEnv]] as const) {
    for (const b of shared) t.ok(env.some((e) => e.env === b.env && e.key === b.key), `${name} binds ${b.env}`);
    t.equal(new Set(env.map((e) => e.env)).size, env.length, `${name}: no variable bound twice`);
  }
});
