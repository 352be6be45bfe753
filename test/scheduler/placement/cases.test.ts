/** Hand-written placements with expected answers: best fit, exact counts, slices, NVLink domains, filters, reasons. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { explainText, place, placementKey, type GangRequest, type Placement, type PlacementResult } from '../../../scheduler/placement/index.js';
import { loadClusterText } from '../../../scheduler/topology/index.js';
import { cluster, hgxNode, nodeWithFree, randomSmallCluster, rackCluster, type TestNode } from '../../builders/cluster.js';
import { randomGang } from '../../builders/gang.js';
import { rng } from '../../builders/prng.js';

const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));

function fits(r: PlacementResult): Placement {
  if (!r.fits) throw new Error(`expected a placement, got: ${explainText(r)}`);
  return r.placement;
}

const nodesOf = (p: Placement): string[] => [...new Set(p.ranks.map((r) => r.node))];
const domainsAt = (p: Placement, level: string): string[] => p.domainsUsed.find((d) => d.level === level)?.names ?? [];
const countsOf = (p: Placement): Record<string, number> => Object.fromEntries(p.counts.map((c) => [c.level, c.count]));

t.test('best fit: the node with exactly the free GPUs the gang needs', async (t) => {
  const c = cluster(
    ['rack', 'spine'],
    [
      nodeWithFree('a1', { rack: 'r1', spine: 's1' }, 8, 8),
      nodeWithFree('a2', { rack: 'r1', spine: 's1' }, 8, 4),
      nodeWithFree('b1', { rack: 'r2', spine: 's1' }, 8, 2),
      nodeWithFree('b2', { rack: 'r2', spine: 's1' }, 8, 6),
    ],
  );
  const p = fits(place(c.snapshot, { ranks: 4, gpusPerRank: 1, topology: { required: 'rack' } }));
  t.same(nodesOf(p), ['a2']);
  t.same(p.ranks.map((r) => r.gpus), [[4], [5], [6], [7]]);
  t.equal(p.level, 'node');
  t.same(p.counts, []);
  t.same(p.ringCrossings.map((c) => c.count), [0, 0, 0]);
});

t.test('fewest nodes exactly where "largest first, tightest last" is not enough', async (t) => {
  // Racks A: nodes 5+5, B: one node 10, C: 3+3+3. 19 ranks: two racks either way, but only
  // A+B does it with 3 nodes (B 10 + A 9); the greedy A then tightest C takes 5.
  const d = (rack: string) => ({ rack, spine: 's1' });
  const c = cluster(
    ['rack', 'spine'],
    [
      nodeWithFree('a1', d('A'), 16, 5),
      nodeWithFree('a2', d('A'), 16, 5),
      nodeWithFree('b1', d('B'), 16, 10),
      nodeWithFree('c1', d('C'), 16, 3),
      nodeWithFree('c2', d('C'), 16, 3),
      nodeWithFree('c3', d('C'), 16, 3),
    ],
  );
  const p = fits(place(c.snapshot, { ranks: 19, gpusPerRank: 1, topology: { preferred: 'rack' } }));
  t.same(countsOf(p), { rack: 2, node: 3 });
  t.same(nodesOf(p).sort(), ['a1', 'a2', 'b1']);
  t.same(domainsAt(p, 'rack'), ['A', 'B']);
  t.same(p.ringCrossings.map((x) => [x.level, x.count]), [
    ['node', 3],
    ['rack', 2],
    ['spine', 0],
  ]);
});

t.test('best fit inside a rack: largest first, the last node the tightest that completes', async (t) => {
  const d = { rack: 'r1' };
  const c = cluster(['rack'], [nodeWithFree('n1', d, 8, 3), nodeWithFree('n2', d, 8, 3), nodeWithFree('n3', d, 8, 2), nodeWithFree('n4', d, 8, 1), nodeWithFree('n5', d, 8, 1)]);
  const p = fits(place(c.snapshot, { ranks: 4, gpusPerRank: 1, topology: { required: 'rack' } }));
  t.same(countsOf(p), { node: 2 });
  t.same(nodesOf(p), ['n1', 'n4'], '3 + 1 leaves no free GPU behind; 3 + 3 would leave 2');
  t.equal(p.freeGpusLeft, 0);
});

t.test('slices: every slice of consecutive ranks inside one rack', async (t) => {
  const d = (rack: string) => ({ rack, spine: 's1' });
  const nodes = [nodeWithFree('x1', d('r1'), 8, 6), nodeWithFree('x2', d('r2'), 8, 2), nodeWithFree('x3', d('r3'), 8, 4), nodeWithFree('x4', d('r4'), 8, 4)];
  const unsliced = fits(place(cluster(['rack', 'spine'], nodes).snapshot, { ranks: 8, gpusPerRank: 1, topology: { preferred: 'rack' } }));
  t.same(nodesOf(unsliced), ['x1', 'x2'], 'without slices: 6 + 2, the tightest pair');
  const p = fits(place(cluster(['rack', 'spine'], nodes).snapshot, { ranks: 8, gpusPerRank: 1, topology: { preferred: 'rack', slice: { size: 4, level: 'rack' } } }));
  t.same(nodesOf(p), ['x3', 'x4'], 'with slices of 4 per rack: 4 + 4 (r2 holds no whole slice; x3 and x4 fit exactly)');
  t.same(new Set(p.ranks.slice(0, 4).map((r) => r.node)).size, 1);
  t.same(new Set(p.ranks.slice(4).map((r) => r.node)).size, 1);
});

t.test('slices at the node level', async (t) => {
  const d = { rack: 'r1' };
  const c = cluster(['rack'], [nodeWithFree('n1', d, 8, 3), nodeWithFree('n2', d, 8, 3), nodeWithFree('n3', d, 8, 2)]);
  const p = fits(place(c.snapshot, { ranks: 4, gpusPerRank: 1, topology: { required: 'rack', slice: { size: 2, level: 'node' } } }));
  t.same(countsOf(p), { node: 2 });
  for (let s = 0; s < 2; s++) t.equal(p.ranks[2 * s]?.node, p.ranks[2 * s + 1]?.node, `slice ${s} on one node`);
  t.ok(nodesOf(p).includes('n3'), 'the node with exactly one slice of room is used');
});

t.test('GB200 NVL72: slices of 16 trays per NVLink domain, used trays skipped', async (t) => {
  const c = loadClusterText(readFileSync(`${examples}cluster-mixed.yaml`, 'utf8'));
  const gang: GangRequest = { ranks: 32, gpusPerRank: 4, accelerator: { model: 'GB200' }, topology: { preferred: 'nvlink', slice: { size: 16, level: 'nvlink' } } };
  const p = fits(place(c.snapshot, gang));
  t.equal(p.level, 'leaf');
  t.equal(p.domain, 'leaf-gb200');
  t.same(countsOf(p), { nvlink: 2, node: 32 });
  t.same(domainsAt(p, 'nvlink'), ['nvl72-rack-1', 'nvl72-rack-2']);
  t.notOk(p.ranks.some((r) => r.node === 'gb200-r1-t03' || r.node === 'gb200-r1-t04'), 'busy trays are not used');
  t.notOk(p.ranks.some((r) => r.node === 'gb200-r2-t17'), 'the cordoned tray is not used');
  t.ok(p.ranks.slice(0, 16).every((r) => r.node.startsWith('gb200-r1-')) && p.ranks.slice(16).every((r) => r.node.startsWith('gb200-r2-')));
  // 17 free trays in rack 2: a gang of 17 with slices of 16... does not divide; 16 fits in one rack.
  const one = fits(place(c.snapshot, { ...gang, ranks: 16 }));
  t.equal(one.level, 'nvlink');
  t.equal(one.domain, 'nvl72-rack-1', 'the tighter rack (16 free trays) over the one with 17');
  // HGX servers are each their own NVLink domain.
  const hgx = fits(place(c.snapshot, { ranks: 2, gpusPerRank: 8, accelerator: { model: 'H100*' }, topology: { required: 'leaf' } }));
  t.same(countsOf(hgx), { nvlink: 2, node: 2 });
});

t.test('GPU choice by link group', async (t) => {
  const c = cluster(['rack'], [hgxNode('h1', { rack: 'r1' }, { state: { usedGpus: [0, 2, 4] } })]);
  const p = fits(place(c.snapshot, { ranks: 2, gpusPerRank: 2, topology: { required: 'node' } }));
  t.same(p.ranks.map((r) => r.gpus), [
    [6, 7],
    [1, 3],
  ], 'the one free PCIe pair first, then two GPUs of one NUMA node');
  const fresh = cluster(['rack'], [hgxNode('h1', { rack: 'r1' })]);
  const q = fits(place(fresh.snapshot, { ranks: 2, gpusPerRank: 4, topology: { required: 'node' } }));
  t.same(q.ranks.map((r) => r.gpus), [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
  ], 'one NUMA half per rank');
  const noLinks = cluster(['rack'], [nodeWithFree('p1', { rack: 'r1' }, 8, 8)]);
  t.same(fits(place(noLinks.snapshot, { ranks: 1, gpusPerRank: 3, topology: { required: 'node' } })).ranks[0]?.gpus, [0, 1, 2]);
});

t.test('required waits, preferred climbs', async (t) => {
  const c = rackCluster(1, 3, 2);
  const req: GangRequest = { ranks: 24, gpusPerRank: 1, topology: { required: 'rack' } };
  const r = place(c.snapshot, req);
  t.equal(r.fits, false);
  if (!r.fits) {
    t.same(r.reasons, [
      { level: 'node', reason: 'none holds 24 ranks × 1 GPU (most: 8 ranks)', count: 6 },
      { level: 'rack', reason: 'none holds 24 ranks × 1 GPU (most: 16 ranks)', count: 3 },
      { level: 'spine', reason: 'topology.required is rack: it would fit only across several rack domains (in one spine)', count: 1 },
    ]);
  }
  const p = fits(place(c.snapshot, { ranks: 24, gpusPerRank: 1, topology: { preferred: 'rack' } }));
  t.equal(p.level, 'spine');
  t.same(countsOf(p), { rack: 2, node: 3 });
});

t.test('never a cordoned or failed node or an unhealthy GPU; reasons count them', async (t) => {
  const d = { rack: 'r1' };
  const c = cluster(
    ['rack'],
    [
      nodeWithFree('big-cordoned', d, 8, 8, { state: { unusable: 'cordoned' } }),
      nodeWithFree('big-failed', d, 8, 8, { state: { unusable: 'health fail' } }),
      nodeWithFree('sick', d, 8, 8, { state: { unhealthyGpus: [0, 1, 2, 3, 4] } }),
      nodeWithFree('small', d, 8, 2),
    ],
  );
  const p = fits(place(c.snapshot, { ranks: 5, gpusPerRank: 1, topology: { required: 'rack' } }));
  t.same(nodesOf(p), ['sick', 'small']);
  t.notOk(p.ranks.some((r) => r.node === 'sick' && r.gpus.some((g) => g < 5)), 'no unhealthy GPU');
  const r = place(c.snapshot, { ranks: 6, gpusPerRank: 1, topology: { required: 'rack' } });
  t.equal(r.fits, false);
  if (!r.fits) {
    t.same(r.reasons.filter((x) => x.level === 'node' && !x.reason.startsWith('none')), [
      { level: 'node', reason: 'cordoned', count: 1 },
      { level: 'node', reason: 'health fail', count: 1 },
    ]);
  }
});

t.test('accelerator filters: vendor, model glob, memory', async (t) => {
  const c = loadClusterText(readFileSync(`${examples}cluster-mixed.yaml`, 'utf8'));
  const gb = fits(place(c.snapshot, { ranks: 1, gpusPerRank: 4, accelerator: { minMemoryGiB: 100 } }));
  t.match(gb.ranks[0]?.node, /^gb200-/);
  const h = fits(place(c.snapshot, { ranks: 1, gpusPerRank: 4, accelerator: { model: 'h100-sxm?-*' } }));
  t.match(h.ranks[0]?.node, /^hgx-/);
  const amd = place(c.snapshot, { ranks: 1, gpusPerRank: 1, accelerator: { vendor: 'amd' } });
  t.equal(amd.fits, false);
  if (!amd.fits) {
    t.same(amd.reasons.slice(0, 2), [
      { level: 'node', reason: 'vendor nvidia, not amd', count: 43 },
      { level: 'node', reason: 'cordoned', count: 1 },
    ]);
  }
});

t.test('same driver and CUDA across the gang', async (t) => {
  const c = cluster(
    ['rack'],
    [
      nodeWithFree('x1', { rack: 'r1' }, 8, 8),
      nodeWithFree('x2', { rack: 'r1' }, 8, 8, { driver: '535.104.05' }),
      nodeWithFree('x3', { rack: 'r2' }, 8, 4),
    ],
  );
  const any = fits(place(c.snapshot, { ranks: 10, gpusPerRank: 1, topology: { preferred: 'rack' } }));
  t.same(nodesOf(any), ['x1', 'x2'], 'one rack when firmware does not matter');
  const same = fits(place(c.snapshot, { ranks: 10, gpusPerRank: 1, topology: { preferred: 'rack' }, sameFirmware: true }));
  t.same(nodesOf(same), ['x1', 'x3'], 'two racks of one driver version');
  const none = place(c.snapshot, { ranks: 13, gpusPerRank: 1, sameFirmware: true });
  t.equal(none.fits, false);
  if (!none.fits) t.match(none.reasons.map((r) => r.reason).join('\n'), /sameFirmware: fits only across different driver\/CUDA versions \(2 groups\)/);
});

t.test('fill mode: the fullest spine, leaf and node that still fit', async (t) => {
  const c = cluster(
    ['rack', 'spine'],
    [
      nodeWithFree('e1', { rack: 'r1', spine: 's1' }, 8, 8),
      nodeWithFree('e2', { rack: 'r1', spine: 's1' }, 8, 8),
      nodeWithFree('f1', { rack: 'r2', spine: 's2' }, 8, 3),
      nodeWithFree('f2', { rack: 'r2', spine: 's2' }, 8, 1),
      nodeWithFree('f3', { rack: 'r3', spine: 's2' }, 8, 2),
    ],
  );
  const p = fits(place(c.snapshot, { ranks: 2, gpusPerRank: 1 }));
  t.same(nodesOf(p), ['f3'], 'spine s2 (6 free) over s1 (16); rack r3 (2) over r2 (4); the node that holds both ranks');
  const wide = fits(place(c.snapshot, { ranks: 5, gpusPerRank: 1 }));
  t.same(nodesOf(wide), ['f1', 'f3'], 'spans racks of the fullest spine with the fewest racks, then nodes');
});

t.test('request errors name the job spec field', async (t) => {
  const c = rackCluster(1, 1, 1);
  const bad: [GangRequest, string][] = [
    [{ ranks: 0, gpusPerRank: 1 }, 'ranks'],
    [{ ranks: 1, gpusPerRank: 0 }, 'gpusPerRank'],
    [{ ranks: 1, gpusPerRank: 1, topology: { required: 'leaf' } }, 'topology.required'],
    [{ ranks: 1, gpusPerRank: 1, topology: { required: 'rack', preferred: 'spine' } }, 'topology.preferred'],
    [{ ranks: 4, gpusPerRank: 1, topology: { required: 'rack', slice: { size: 2, level: 'spine' } } }, 'topology.slice.level'],
    [{ ranks: 4, gpusPerRank: 1, topology: { slice: { size: 3, level: 'rack' } } }, 'topology.slice.size'],
  ];
  for (const [req, field] of bad) {
    try {
      place(c.snapshot, req);
      t.fail(`${field}: accepted`);
    } catch (e) {
      t.ok(e instanceof InvalidArgumentError);
      t.equal((e as InvalidArgumentError).field, field);
    }
  }
});

t.test('deterministic: same input, same output, whatever the order nodes are listed in', async (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    const r = rng(seed);
    const c = randomSmallCluster(r);
    const req = randomGang(r, c.tree);
    const a = place(c.snapshot, req);
    const b = place(c.snapshot, req);
    t.same(a, b);
    const shuffled = cluster(c.levels, rng(seed + 1000).shuffle([...c.nodes]) as TestNode[]);
    const s = place(shuffled.snapshot, req);
    t.same(s.fits, a.fits, `seed ${seed}`);
    if (a.fits && s.fits) t.same(s.placement.ranks.map((x) => [x.node, x.gpus]), a.placement.ranks.map((x) => [x.node, x.gpus]), `seed ${seed}`);
    t.same(placementKey(c.snapshot, req), placementKey(shuffled.snapshot, req));
  }
});

t.test('explainText', async (t) => {
  const c = rackCluster(1, 2, 2);
  const ok = place(c.snapshot, { ranks: 12, gpusPerRank: 2, topology: { required: 'spine', preferred: 'rack' } });
  const text = explainText(ok);
  t.match(text, /^fits: 12 ranks × 2 GPUs, required spine, preferred rack, packed\n/);
  t.match(text, /in spine spine-0\n/);
  t.match(text, /domains below it: rack 2, node 3\n/);
  t.match(text, /ring crossings: node 3, rack 2, spine 0\n/);
  t.match(text, /0 {5}n-0-0-0 {2}0,1\n/);
  const no = explainText(place(c.snapshot, { ranks: 1, gpusPerRank: 16 }));
  t.equal(no, 'does not fit: 1 rank × 16 GPUs, least-free first\n  4 nodes: has fewer than 16 GPUs\n  4 nodes: none holds 1 rank × 16 GPUs (most: 0 ranks)\n  rack (2): none holds 1 rank × 16 GPUs (most: 0 ranks)\n  spine: none holds 1 rank × 16 GPUs (most: 0 ranks)\n  cluster: room for 0 of 1 rank (1 rank × 16 GPUs)\n');
});
