/** Degraded domains in placement: avoided between objectives (3) and (4), or excluded outright. */
import t from 'tap';
import { explainText, place, placeShards, type GangRequest, type Placement, type PlacementResult } from '../../../scheduler/placement/index.js';
import type { DegradedMode } from '../../../scheduler/topology/index.js';
import { cluster, nodeWithFree, type TestNode } from '../../builders/cluster.js';

function fits(r: PlacementResult): Placement {
  if (!r.fits) throw new Error(`expected a placement, got: ${explainText(r)}`);
  return r.placement;
}
const nodesOf = (p: Placement): string[] => [...new Set(p.ranks.map((r) => r.node))].sort();
const countsOf = (p: Placement): Record<string, number> => Object.fromEntries(p.counts.map((c) => [c.level, c.count]));
const d = (rack: string, spine = 's1') => ({ rack, spine });

interface Case {
  name: string;
  nodes: TestNode[];
  degraded: { level: string; name: string }[];
  mode: DegradedMode;
  gang: GangRequest;
  /** Expected nodes, or null: does not fit. */
  expect: string[] | null;
  reason?: RegExp;
}

// Two racks of two 8-GPU nodes; a2 is the tightest fit for 4 ranks (4 free) and b2 holds them too (6 free).
const tight = (): TestNode[] => [
  nodeWithFree('a1', d('r1'), 8, 8),
  nodeWithFree('a2', d('r1'), 8, 4),
  nodeWithFree('b1', d('r2'), 8, 2),
  nodeWithFree('b2', d('r2'), 8, 6),
];

const cases: Case[] = [
  {
    name: 'no degraded domain: best fit as before',
    nodes: tight(),
    degraded: [],
    mode: 'avoid',
    gang: { ranks: 4, gpusPerRank: 1, topology: { required: 'rack' } },
    expect: ['a2'],
  },
  {
    name: 'avoid: a degraded node loses the best-fit tie-break (objective 4) to a healthy one',
    nodes: tight(),
    degraded: [{ level: 'node', name: 'a2' }],
    mode: 'avoid',
    gang: { ranks: 4, gpusPerRank: 1, topology: { required: 'rack' } },
    expect: ['b2'],
  },
  {
    name: 'avoid: a degraded rack loses to an equally good healthy rack',
    nodes: [nodeWithFree('a1', d('r1'), 8, 4), nodeWithFree('a2', d('r1'), 8, 4), nodeWithFree('b1', d('r2'), 8, 8), nodeWithFree('b2', d('r2'), 8, 8)],
    degraded: [{ level: 'rack', name: 'r1' }],
    mode: 'avoid',
    gang: { ranks: 8, gpusPerRank: 1, topology: { required: 'rack' } },
    expect: ['b1'],
  },
  {
    name: 'avoid: the degraded node is still used when nothing equally good by (1)-(3) is healthy',
    // 12 ranks: one rack, 2 nodes only via r1 (a1 8 + a2 4); r2 needs 3 nodes (4+4+4).
    nodes: [
      nodeWithFree('a1', d('r1'), 8, 8),
      nodeWithFree('a2', d('r1'), 8, 4),
      nodeWithFree('b1', d('r2'), 8, 4),
      nodeWithFree('b2', d('r2'), 8, 4),
      nodeWithFree('b3', d('r2'), 8, 4),
    ],
    degraded: [{ level: 'node', name: 'a2' }],
    mode: 'avoid',
    gang: { ranks: 12, gpusPerRank: 1, topology: { required: 'spine' } },
    expect: ['a1', 'a2'],
  },
  {
    name: 'avoid: a degraded spine is used when the gang fits in one spine only there',
    nodes: [nodeWithFree('a1', d('r1', 's1'), 8, 8), nodeWithFree('a2', d('r1', 's1'), 8, 8), nodeWithFree('b1', d('r2', 's2'), 8, 8)],
    degraded: [{ level: 'spine', name: 's1' }],
    mode: 'avoid',
    gang: { ranks: 16, gpusPerRank: 1, topology: { preferred: 'rack' } },
    expect: ['a1', 'a2'],
  },
  {
    name: 'exclude: the same gang goes across spines rather than into the degraded one',
    nodes: [nodeWithFree('a1', d('r1', 's1'), 8, 8), nodeWithFree('a2', d('r1', 's1'), 8, 8), nodeWithFree('b1', d('r2', 's2'), 8, 8), nodeWithFree('b2', d('r3', 's3'), 8, 8)],
    degraded: [{ level: 'spine', name: 's1' }],
    mode: 'exclude',
    gang: { ranks: 16, gpusPerRank: 1 },
    expect: ['b1', 'b2'],
  },
  {
    name: 'exclude: does not fit when only degraded nodes hold it, with the reason counted',
    nodes: tight(),
    degraded: [{ level: 'node', name: 'a1' }],
    mode: 'exclude',
    gang: { ranks: 8, gpusPerRank: 1, topology: { required: 'node' } },
    expect: null,
    reason: /in a degraded domain/,
  },
  {
    name: 'ignore: degradation plays no part',
    nodes: tight(),
    degraded: [{ level: 'node', name: 'a2' }],
    mode: 'ignore',
    gang: { ranks: 4, gpusPerRank: 1, topology: { required: 'rack' } },
    expect: ['a2'],
  },
  {
    name: 'names the tree does not have are skipped',
    nodes: tight(),
    degraded: [{ level: 'node', name: 'gone' }, { level: 'pod', name: 'p1' }],
    mode: 'exclude',
    gang: { ranks: 4, gpusPerRank: 1, topology: { required: 'rack' } },
    expect: ['a2'],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const cl = cluster(['rack', 'spine'], c.nodes);
    const before = place(cl.snapshot, c.gang);
    cl.snapshot.markDegraded(c.degraded, c.mode);
    const r = place(cl.snapshot, c.gang);
    if (c.expect === null) {
      t.equal(r.fits, false);
      if (!r.fits && c.reason) t.match(explainText(r), c.reason);
      return;
    }
    const p = fits(r);
    t.same(nodesOf(p), c.expect);
    // Under `avoid`, never worse by (1)-(3) than without degradation.
    if (c.mode === 'avoid' && before.fits) {
      t.equal(p.level, before.placement.level, 'same level (1)');
      t.same(countsOf(p), countsOf(before.placement), 'same domain and node counts (2)-(3)');
    }
  });
}

t.test('shards avoid a degraded rack while a healthy one has room, then use it', async (t) => {
  const cl = cluster(['rack', 'spine'], [nodeWithFree('a1', d('r1'), 8, 2), nodeWithFree('b1', d('r2'), 8, 4)]);
  cl.snapshot.markDegraded([{ level: 'rack', name: 'r1' }], 'avoid');
  const out = placeShards(cl.snapshot, { ranks: 1, gpusPerRank: 2 }, 3);
  t.equal(out.failed, null);
  t.same(out.placements.map((p) => p.ranks[0]!.node), ['b1', 'b1', 'a1']);
});

t.test('clone keeps the degraded marks', async (t) => {
  const cl = cluster(['rack', 'spine'], tight());
  cl.snapshot.markDegraded([{ level: 'node', name: 'a2' }], 'exclude');
  const c = cl.snapshot.clone();
  t.equal(c.degradedMode, 'exclude');
  t.same([...(c.healthyNodes ?? [])], [...(cl.snapshot.healthyNodes ?? [])]);
  t.equal(cl.snapshot.markDegraded([], 'avoid'), 0);
  t.equal(cl.snapshot.healthyNodes, null, 'cleared');
});
