/** The limits' config keys: documented defaults, bounds, and the agent's label bounds (ConfigError naming the key). */
import t from 'tap';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../shared/config/index.js';
import { schedulerConfigSchema, schedulerEnv } from '../../../scheduler/config.js';
import { agentConfigSchema, agentEnv } from '../../../agent/config.js';

t.test('defaults', async (t) => {
  const c = loadConfig(schedulerConfigSchema, { env: {}, envBindings: schedulerEnv, sets: [] });
  t.same(
    { max: [c.grpc.maxReceiveMessageBytes, c.grpc.maxSendMessageBytes], rate: c.grpc.rateLimit },
    { max: [4 * 1024 * 1024, 64 * 1024 * 1024], rate: { requestsPerSecond: 50, burst: 100 } },
  );
  t.same(
    [c.jobs.maxSpecBytes, c.jobs.maxSpecDepth, c.jobs.maxSpecAliases, c.jobs.maxSpecNodes, c.jobs.maxRanksPerJob, c.jobs.maxShardsPerJob, c.jobs.maxReplicasPerJob],
    [1024 * 1024, 64, 100, 20_000, 16_384, 100_000, 1_000],
  );
  t.equal(c.grpc.maxConnectionIdleMs, 10_000, 'an idle or half-open connection is closed after 10 s');
  const j = c.jobs;
  t.same(
    [j.maxCommandArgs, j.maxCommandArgBytes, j.maxCommandBytes, j.maxEnvVars, j.maxEnvNameBytes, j.maxEnvValueBytes, j.maxEnvBytes],
    [4096, 131_072, 262_144, 1024, 256, 131_072, 262_144],
    'env and command bounds: the spec parser\'s own (SPEC_FIELD_LIMITS)',
  );
  const a = loadConfig(agentConfigSchema, { env: {}, envBindings: agentEnv, sets: [] });
  t.same([a.scheduler.maxReceiveMessageBytes, a.scheduler.maxSendMessageBytes], [4 * 1024 * 1024, 4 * 1024 * 1024]);
});

t.test('bounds name the key', async (t) => {
  const sched = (sets: string[]) => () => loadConfig(schedulerConfigSchema, { env: {}, envBindings: schedulerEnv, sets });
  t.throws(sched(['grpc.maxReceiveMessageBytes=100']), /grpc\.maxReceiveMessageBytes/);
  t.throws(sched(['jobs.maxSpecBytes=2097152']), /jobs\.maxSpecBytes/, 'no spec above 1 MiB');
  t.throws(sched(['jobs.maxCommandArgBytes=131073']), /jobs\.maxCommandArgBytes/, 'no argument above MAX_ARG_STRLEN');
  t.throws(sched(['jobs.maxEnvVars=2000']), /jobs\.maxEnvVars/, 'the env bounds may be lowered, not raised');
  t.equal(loadConfig(schedulerConfigSchema, { env: {}, envBindings: schedulerEnv, sets: ['jobs.maxEnvVars=0'] }).jobs.maxEnvVars, 0, 'no env at all');
  t.throws(sched(['grpc.rateLimit.requestsPerSecond=-1']), /grpc\.rateLimit\.requestsPerSecond/);
  t.equal(loadConfig(schedulerConfigSchema, { env: {}, envBindings: schedulerEnv, sets: ['grpc.rateLimit.requestsPerSecond=0'] }).grpc.rateLimit.requestsPerSecond, 0, '0 turns it off');
});

t.test("the agent's labels are bounded at start, not refused at every registration", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-limits-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const agent = (labels: unknown) => () => {
    const file = path.join(dir, 'agent.yaml');
    writeFileSync(file, JSON.stringify({ labels }));
    return loadConfig(agentConfigSchema, { file, env: {}, envBindings: agentEnv, sets: [] });
  };
  t.throws(agent({ rack: '\u001b[31mr1' }), /labels\.rack.*control characters/);
  t.throws(agent({ rack: 'x'.repeat(254) }), /labels\.rack/);
  t.throws(agent(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, 'v']))), /labels.*at most 64 labels/);
  t.same(agent({ rack: 'r1', 'gantry.io/pool': 'a b' })().labels, { rack: 'r1', 'gantry.io/pool': 'a b' });
});
