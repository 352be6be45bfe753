/**
 * Latency peers across a scheduler restart, on real parts: a real nats-server, the scheduler and
 * four agents (two leaves) as child processes. The scheduler keeps no peer table: after it is
 * killed and started again on the same data dir, every agent, once re-registered, is sent the very
 * peers it probed before (see README "East-west latency": the assignment is a pure function of the
 * tree and of which nodes probe).
 */
import t from 'tap';
import { listNodes, startAgent, startNats, startScheduler, waitFor, type Agent } from '../harness/cluster.js';

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

t.test('a restarted scheduler sends every agent the peers it had', async (t) => {
  const nats = await startNats(t);
  const schedArgs = ['--set', 'telemetry.peersPerLevel=[1, 1]', '--set', 'telemetry.evaluateIntervalMs=200'];
  const sched = await startScheduler(t, { natsUrl: nats.url, lostAfterMs: 60_000, extraArgs: schedArgs });
  const agents: Agent[] = [];
  for (const n of ['a1', 'a2', 'b1', 'b2']) {
    agents.push(
      await startAgent(t, n, sched.address, {
        topology: { leaf: n.startsWith('a') ? 'leaf-a' : 'leaf-b', spine: 'spine-0' },
        extraArgs: ['--nats-url', nats.url, '--set', 'nats.enabled=true', '--set', 'latency.enabled=true', '--set', 'latency.listen=127.0.0.1:0', '--set', 'latency.probeRateHz=5'],
      }),
    );
  }
  await waitFor('four ready nodes', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready').length === 4);
  // Every agent ends up with one peer in its leaf and one in the other leaf.
  const before = await waitFor('full peer lists', () => {
    const last = agents.map((a) => peerLists(a).at(-1) ?? []);
    return last.every((p) => p.length === 2) ? last : undefined;
  }, 20_000);
  t.same(before.map((p) => p[0]!.slice(0, 1)), ['a', 'a', 'b', 'b'], 'the first peer shares the leaf');
  t.same(before.map((p) => p[1]!.slice(0, 1)), ['b', 'b', 'a', 'a'], 'the second is in the other leaf');
  const seen = agents.map((a) => peerLists(a).length);

  await sched.child.kill();
  await startScheduler(t, { natsUrl: nats.url, dataDir: sched.dataDir, grpcPort: sched.grpcPort, lostAfterMs: 60_000, extraArgs: schedArgs });
  const after = await waitFor('every agent re-registered and sent its peers again, the same as before', () => {
    const lists = agents.map((a) => peerLists(a));
    if (lists.some((l, i) => l.length <= seen[i]!)) return undefined; // not yet told since the restart
    const last = lists.map((l) => l.at(-1)!);
    return JSON.stringify(last) === JSON.stringify(before) ? last : undefined;
  }, 30_000).catch((e: unknown) => {
    t.comment(`lists since the restart: ${JSON.stringify(agents.map((a, i) => peerLists(a).slice(seen[i])))}; before: ${JSON.stringify(before)}`);
    throw e;
  });
  t.same(after, before, 'no peer changed');
});
