/**
 * East-west latency end to end on real parts: a real nats-server, the scheduler and six agents in
 * two leaves over loopback, each with its own UDP echo responder. One agent's echo is delayed
 * (fault injection through its echo-delay file): its node is reported degraded (event on NATS,
 * `gantry topology`), the next gang avoids it, and once the delay is gone it recovers. Then the
 * scheduler is killed and started again on the same data dir: it keeps no peer table, and every
 * agent, once re-registered, is sent the very peers it probed before (README "East-west latency":
 * the assignment is a pure function of the tree and of which nodes probe).
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { schedulerClient, unaryCall } from '../../shared/cli/client.js';
import type { ClusterTopology__Output, PbJobOut } from '../../shared/proto/index.js';
import type { DomainEvent } from '../../shared/events/index.js';
import { jobViewFromPb, type JobView } from '../../shared/wire/index.js';
import { gantryCli as cli, httpGet, listNodes, startAgent, startNats, startScheduler, tempDir, waitFor, type Agent } from '../harness/cluster.js';



async function rpc<T>(address: string, method: string, req: object): Promise<T> {
  const c = schedulerClient(address);
  try {
    return await unaryCall<object, T>(c, (c as unknown as Record<string, never>)[method] as never, req);
  } finally {
    c.close();
  }
}

const getJob = async (address: string, id: string): Promise<JobView> => jobViewFromPb(await rpc<PbJobOut>(address, 'GetJob', { id }));
/** The peer lists an agent logged ('latency peers'), oldest first. */
function peerLists(a: Agent): string[][] {
  const out: string[][] = [];
  for (const line of a.child.output().split('\n')) {
    if (!line.includes('"latency peers"')) continue;
    try {
      const rec = JSON.parse(line) as { msg?: string; peers?: string[] };
      if (rec.msg === 'latency peers' && Array.isArray(rec.peers)) out.push(rec.peers);
    } catch {
      // not a log line
    }
  }
  return out;
}

const degradedIn = (topo: ClusterTopology__Output): string[] => topo.domains.filter((d) => d.degraded).map((d) => `${d.level}:${d.name}`);

t.test('a delayed echo responder: degraded, avoided, recovered', async (t) => {
  const nats = await startNats(t);
  const schedulerArgs = [
      '--set', 'jobs.cycleIntervalMs=200',
      '--set', 'telemetry.slidingWindowMs=4000',
      '--set', 'telemetry.evaluateIntervalMs=200',
      '--set', 'telemetry.degradeAfterMs=1500',
      '--set', 'telemetry.clearAfterMs=1500',
      '--set', 'telemetry.minSamples=20',
      '--set', 'telemetry.degradeFactor=2',
      '--set', 'telemetry.p99FloorMs=1000',
      '--set', 'telemetry.peersPerLevel=[2, 1]',
  ];
  const sched = await startScheduler(t, { natsUrl: nats.url, extraArgs: schedulerArgs });
  const nc: NatsConnection = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const events: DomainEvent[] = [];
  const sub = nc.subscribe('gantry.events.domain.>');
  void (async () => {
    for await (const m of sub) events.push(JSON.parse(new TextDecoder().decode(m.data)) as DomainEvent);
  })();
  const dir = tempDir(t, 'gantry-latency-');
  const delayFile = (n: string): string => path.join(dir, `${n}.delay`);
  const names = ['a1', 'a2', 'a3', 'b1', 'b2', 'b3'];
  const agents: Agent[] = [];
  for (const n of names) {
    writeFileSync(delayFile(n), '0\n');
    agents.push(await startAgent(t, n, sched.address, {
      topology: { leaf: n.startsWith('a') ? 'leaf-a' : 'leaf-b', spine: 'spine-0' },
      extraArgs: [
        '--nats-url', nats.url,
        '--set', 'nats.enabled=true',
        '--set', 'latency.enabled=true',
        '--set', 'latency.listen=127.0.0.1:0',
        '--set', 'latency.probeRateHz=20',
        '--set', 'latency.windowMs=250',
        '--set', 'latency.timeoutMs=8000',
        '--set', `latency.echoDelayFile=${delayFile(n)}`,
      ],
    }));
  }
  await waitFor('six ready nodes', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready').length === 6);
  const metricsUrl = `http://127.0.0.1:${sched.metricsPort}/metrics`;
  // Every node judged: a p99 per node from real probes.
  await waitFor('latency p99 for every node', async () => {
    const m = await httpGet(metricsUrl);
    return names.every((n) => m.includes(`gantry_scheduler_domain_latency_p99_seconds{level="node",domain="${n}"}`));
  }, 20_000);
  t.same(degradedIn(await rpc<ClusterTopology__Output>(sched.address, 'GetTopology', {})), [], 'nothing degraded on a quiet loopback');

  const env = { GANTRY_SCHEDULER_ADDRESS: sched.address };
  const gang = path.join(dir, 'gang.yaml');
  writeFileSync(gang, `kind: Training\nname: allreduce\nranks: 3\ngpusPerRank: 8\ntopology: {required: leaf}\ncommand: ["${process.execPath}", "-e", "setTimeout(() => {}, 60000)"]\n`);
  const run = async (): Promise<string[]> => {
    const r = await cli(['submit', gang, '--wait'], env);
    t.equal(r.code, 0, `submit: ${r.stderr}`);
    const id = r.stdout.split(' ')[0]!;
    const job = await waitFor('gang placed', async () => {
      const j = await getJob(sched.address, id);
      return j.ranks.length > 0 ? j : undefined;
    });
    const c = await cli(['cancel', id], env);
    t.equal(c.code, 0, `cancel: ${c.stderr}`);
    await waitFor('gang cancelled and its GPUs free', async () => (await getJob(sched.address, id)).state === 'cancelled');
    return [...new Set(job.ranks.map((r) => r.node))].sort();
  };
  t.same(await run(), ['a1', 'a2', 'a3'], 'healthy: both leaves tie, tree order takes leaf-a');

  // Fault: a3 answers every probe 3 s late. (Loopback on a shared test machine has p99s of tens to
  // hundreds of ms; the floor and the delay are sized so that noise is not mistaken for the fault.)
  writeFileSync(delayFile('a3'), '3000\n');
  const isA3 = (type: string) => (e: DomainEvent) => e.level === 'node' && e.domain === 'a3' && e.type === type;
  const degraded = await waitFor('a degraded event for a3', () => events.find(isA3('degraded')), 40_000);
  t.match(degraded, { v: 1, kind: 'domain', level: 'node', domain: 'a3', type: 'degraded' });
  t.ok(degraded.p99Ms >= 3000, `its p99 ${degraded.p99Ms} ms`);
  t.ok(degraded.siblingsP99Ms * 2 < degraded.p99Ms, `siblings ${degraded.siblingsP99Ms} ms`);
  t.ok(degradedIn(await rpc<ClusterTopology__Output>(sched.address, 'GetTopology', {})).includes('node:a3'), 'GetTopology marks it');
  const text = await cli(['topology'], env);
  t.match(text.stdout, /node a3 .*degraded/, '`gantry topology` shows it');
  t.match(await httpGet(metricsUrl), /gantry_scheduler_domain_degraded\{level="node",domain="a3"\} 1/);
  t.same(await run(), ['b1', 'b2', 'b3'], 'the next gang avoids the degraded node (same objective (1)-(3), healthy leaf)');

  // Repaired.
  writeFileSync(delayFile('a3'), '0\n');
  const recovered = await waitFor('a recovered event for a3', () => events.find((e) => events.indexOf(e) > events.indexOf(degraded) && isA3('recovered')(e)), 40_000);
  t.match(recovered, { kind: 'domain', level: 'node', domain: 'a3', type: 'recovered' });
  t.notOk(degradedIn(await rpc<ClusterTopology__Output>(sched.address, 'GetTopology', {})).includes('node:a3'), 'cleared in the topology');
  const others = events.filter((e) => e.domain !== 'a3');
  if (others.length) t.comment(`other domain events (load noise): ${others.map((e) => `${e.level} ${e.domain} ${e.type} p99 ${Math.round(e.p99Ms)} ms`).join('; ')}`);
  t.same(await run(), ['a1', 'a2', 'a3'], 'and gangs may use it again');

  // A scheduler restart: the same peers for every agent, with no peer table stored.
  const before = agents.map((a) => peerLists(a).at(-1) ?? []);
  t.ok(before.every((p) => p.length === 3), `each agent probes two peers in its leaf and one in the other: ${JSON.stringify(before)}`);
  const seen = agents.map((a) => peerLists(a).length);
  await sched.child.kill();
  await startScheduler(t, { natsUrl: nats.url, dataDir: sched.dataDir, grpcPort: sched.grpcPort, extraArgs: schedulerArgs });
  // Agents re-register one by one, so peers sent before all are back may be partial; once every agent
  // is back, each must hold exactly the peers it had (it never does if the assignment is not stable).
  const after = await waitFor('every agent re-registered and was sent its peers again, the same as before', () => {
    const lists = agents.map((a) => peerLists(a));
    if (lists.some((l, i) => l.length <= seen[i]!)) return undefined;
    const last = lists.map((l) => l.at(-1)!);
    return JSON.stringify(last) === JSON.stringify(before) ? last : undefined;
  }, 30_000).catch((e: unknown) => {
    t.comment(`lists since the restart: ${JSON.stringify(agents.map((a, i) => peerLists(a).slice(seen[i])))}; before: ${JSON.stringify(before)}`);
    throw e;
  });
  t.same(after, before, 'no peer changed across the restart');
});
