/**
 * Latency peer assignments are not stored: they are a pure function of the topology tree (rebuilt
 * from the persisted node registry), the set of nodes with a latency endpoint, and
 * telemetry.peersPerLevel. Shown here on the real LatencyTelemetry: a "restarted" instance, fed
 * the same tree with nodes listed and registering in another order, sends every agent the same
 * peers as the first one did once all have registered again.
 */
import t from 'tap';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import { LatencyTelemetry } from '../../../scheduler/telemetry/index.js';
import { buildTopology, type TopologyNodeInput } from '../../../scheduler/topology/index.js';
import { MemoryEventBus } from '../../../scheduler/events/index.js';
import { systemClock } from '../../../shared/clock/index.js';
import type { AgentCommandView } from '../../../shared/wire/index.js';
import { hgxNode } from '../../builders/cluster.js';

const LEVELS = ['nvlink', 'leaf', 'spine'];
/** 2 spines × 2 leaves × 3 nodes. */
const NODES: TopologyNodeInput[] = [];
for (const s of [1, 2]) for (const l of [1, 2]) for (const i of [1, 2, 3]) NODES.push(hgxNode(`n${s}${l}${i}`, { leaf: `leaf-${s}${l}`, spine: `spine-${s}` }));

/** A scheduler's latency loop on a tree built from `nodes` (in that order); registrations in `order`. */
function run(nodes: readonly TopologyNodeInput[], order: readonly string[]): Map<string, string[]> {
  const tree = buildTopology(LEVELS, nodes);
  const last = new Map<string, string[]>();
  const lt = new LatencyTelemetry(
    { slidingWindowMs: 1000, slots: 4, degradeFactor: 3, degradeAfterMs: 500, clearAfterMs: 500, minSamples: 20, p99FloorUs: 100, evaluateIntervalMs: 1000, peersPerLevel: [2, 1, 1] },
    {
      clock: systemClock,
      log: pino({ level: 'silent' }),
      events: new MemoryEventBus(),
      registry: new Registry(),
      tree: () => tree,
      send: (node: string, msg: AgentCommandView) => {
        last.set(node, (msg.latencyPeers?.peers ?? []).map((p) => `${p.node}@${p.address}:${p.port}`));
        return true;
      },
    },
  );
  for (const n of order) lt.onEndpoint(n, { address: `10.0.0.${n.slice(1)}`, port: 7000 });
  return last;
}

const names = NODES.map((n) => n.name);
const shuffled = [5, 11, 0, 7, 2, 9, 1, 10, 4, 6, 3, 8].map((i) => names[i]!);

t.test('same tree and endpoints → the same peers after a restart, whatever the registration order', async (t) => {
  const before = run(NODES, names);
  t.equal(before.size, 12, 'every agent got a list');
  t.ok([...before.values()].every((p) => p.length === 4), 'two in its leaf, one in another leaf, one in the other spine');
  // The restarted scheduler: its registry lists nodes in another order; agents come back in another order.
  const after = run([...NODES].reverse(), shuffled);
  t.same(Object.fromEntries([...after].sort()), Object.fromEntries([...before].sort()), 'identical assignment');
});

t.test('the assignment depends on which nodes probe: a node without an endpoint is nobody\'s peer', async (t) => {
  const all = run(NODES, names);
  const without = run(NODES, names.filter((n) => n !== 'n112'));
  t.ok([...without.values()].every((p) => !p.some((x) => x.startsWith('n112@'))), 'n112 is not probed');
  t.notSame(Object.fromEntries(without), Object.fromEntries([...all].filter(([n]) => n !== 'n112')), 'so the lists differ while it is away');
});
