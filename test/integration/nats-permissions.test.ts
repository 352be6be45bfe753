/**
 * NATS permissions end to end on real parts: a nats-server run from the shipped
 * deploy/nats/nats-server.conf with the users gantry nats-auth writes (the real CLI), the real
 * scheduler with its nkey seed, and real agents with theirs. The scheduler creates GANTRY_EVENTS and
 * publishes into it (read back with `gantry events --nats-nkey events.nk`); agents' latency windows,
 * each on its own node's subject, reach the scheduler's aggregator; an agent started with another
 * node's seed is refused by the server for every window and says so in its log.
 */
import t from 'tap';
import path from 'node:path';
import type { GantryEvent } from '../../shared/events/index.js';
import { NATS_AUTH_CONF_FILE, nodeSeedFile } from '../../shared/natsauth/index.js';
import { gantryCli as cli, httpGet, startAgent, startNats, startScheduler, waitFor } from '../harness/cluster.js';
import { shippedNatsConf } from '../harness/nats-auth.js';



t.test('the scheduler and agents on their own nkeys: events stored, own windows accepted, a borrowed seed refused', async (t) => {
  // The shipped config beside an auth dir, then `gantry nats-auth` (the real command) writes the users.
  const { confPath } = shippedNatsConf(t, []);
  const authDir = path.join(path.dirname(confPath), 'gantry');
  const gen = await cli(['nats-auth', '--nodes', 'a1,a2,a3', '--out', authDir]);
  t.equal(gen.code, 0, gen.stderr);
  t.match(gen.stdout, new RegExp(`wrote ${authDir}/${NATS_AUTH_CONF_FILE}`));
  const seed = (node: string): string => path.join(authDir, nodeSeedFile(node));
  const nats = await startNats(t, ['-c', confPath], { jetstreamFromConfig: true });

  const sched = await startScheduler(t, {
    natsUrl: nats.url,
    extraArgs: [
      '--set', `nats.nkeySeedFile=${path.join(authDir, 'scheduler.nk')}`,
      '--set', 'telemetry.evaluateIntervalMs=200',
      '--set', 'telemetry.minSamples=5',
      '--set', 'telemetry.peersPerLevel=[2]',
    ],
  });
  const agentArgs = (seedFile: string): string[] => [
    '--nats-url', nats.url,
    '--set', 'nats.enabled=true',
    '--set', `nats.nkeySeedFile=${seedFile}`,
    '--set', 'latency.enabled=true',
    '--set', 'latency.listen=127.0.0.1:0',
    '--set', 'latency.probeRateHz=20',
    '--set', 'latency.windowMs=250',
  ];
  // a1 and a2 with their own seeds; a3 with a1's (a copied file, a misconfigured node).
  const a1 = await startAgent(t, 'a1', sched.address, { topology: { leaf: 'leaf-a' }, extraArgs: agentArgs(seed('a1')) });
  await startAgent(t, 'a2', sched.address, { topology: { leaf: 'leaf-a' }, extraArgs: agentArgs(seed('a2')) });
  const a3 = await startAgent(t, 'a3', sched.address, { topology: { leaf: 'leaf-a' }, extraArgs: agentArgs(seed('a1')) });

  const metricsUrl = `http://127.0.0.1:${sched.metricsPort}/metrics`;
  const accepted = (m: string): number => Number(/gantry_scheduler_latency_windows_total\{result="accepted"\} (\d+)/.exec(m)?.[1] ?? 0);
  await waitFor('latency windows accepted, and a p99 for a1 and a2', async () => {
    const m = await httpGet(metricsUrl);
    return accepted(m) >= 4 && ['a1', 'a2'].every((n) => m.includes(`gantry_scheduler_domain_latency_p99_seconds{level="node",domain="${n}"}`));
  }, 30_000);
  t.match(await httpGet(metricsUrl), /gantry_scheduler_latency_windows_total\{result="foreign"\} 0/, 'no window named another node');

  // a3 publishes on gantry.telemetry.latency.a3 with a1's user: the server refuses, the agent warns.
  const refusal = await a3.child.waitForLog(/NATS refused this/, 20_000);
  t.match(refusal, { operation: 'publish', subject: 'gantry.telemetry.latency.a3' });
  t.notMatch(a1.child.output(), /NATS refused this/, 'a1, on its own seed, is refused nothing');
  t.notMatch(sched.child.output(), /NATS refused this/, 'neither is the scheduler');

  // The scheduler's events are in GANTRY_EVENTS, read with the events user's seed.
  const read = await waitFor('registrations of a1, a2 and a3 in GANTRY_EVENTS', async () => {
    const r = await cli(['events', '--json', '--node', 'a3', '--nats-url', nats.url, '--nats-nkey', path.join(authDir, 'events.nk')]);
    return r.code === 0 && r.stdout.includes('"registered"') ? r : undefined;
  }, 20_000);
  const events = read.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as GantryEvent);
  t.match(events[0], { kind: 'node', node: 'a3', type: 'registered' }, 'the scheduler published a3 joining');
  // The scheduler's seed does not read the stream through consumers (it has no consumer permissions).
  const asScheduler = await cli(['events', '--json', '--nats-url', nats.url, '--nats-nkey', path.join(authDir, 'scheduler.nk')]);
  t.equal(asScheduler.code, 1, 'gantry events with the scheduler seed fails');
  t.match(asScheduler.stderr, /Permissions Violation/);
});
