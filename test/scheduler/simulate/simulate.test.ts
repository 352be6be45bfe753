/**
 * The simulator's pure core: cluster shapes, load scaling, gang shapes, and the figures of tiny
 * traces whose every start and end is worked out by hand below.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../shared/procs/index.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { buildTopology } from '../../../scheduler/topology/index.js';
import {
  cdf,
  clusterFromDocument,
  gangShape,
  nvl72Cluster,
  offeredLoad,
  parseNvl72,
  parseTrace,
  policiesNamed,
  runSimulation,
  scaleArrivals,
  shapeCluster,
  spanOf,
  tiresiasCluster,
  type SimRun,
} from '../../../scheduler/simulate/index.js';

const TIRESIAS = join(packageRoot(), 'fixtures', 'traces', 'tiresias');

t.test('cluster shapes', async (t) => {
  const cases: Array<[string, ReturnType<typeof shapeCluster>, { nodes: number; gpus: number; levels: string[]; domains: Record<string, number> }]> = [
    ['shape flags', shapeCluster({ nodes: 256, gpusPerNode: 8, nodesPerLeaf: 32, leavesPerSpine: 4 }), { nodes: 256, gpus: 2048, levels: ['leaf', 'spine'], domains: { leaf: 8, spine: 2 } }],
    ['shape flags, one leaf by default', shapeCluster({ nodes: 5, gpusPerNode: 4 }), { nodes: 5, gpus: 20, levels: ['leaf', 'spine'], domains: { leaf: 1, spine: 1 } }],
    ['Tiresias cluster_spec.csv: 1 switch × 16 nodes × 4 GPUs', tiresiasCluster(readFileSync(join(TIRESIAS, 'cluster_spec.csv'), 'utf8'), 'cluster_spec.csv'), { nodes: 16, gpus: 64, levels: ['leaf'], domains: { leaf: 1 } }],
    ['Tiresias n256g8.csv', tiresiasCluster(readFileSync(join(TIRESIAS, 'n256g8.csv'), 'utf8'), 'n256g8.csv'), { nodes: 256, gpus: 2048, levels: ['leaf'], domains: { leaf: 8 } }],
    ['NVL72 × 9 racks', nvl72Cluster(9), { nodes: 162, gpus: 648, levels: ['nvlink', 'leaf', 'spine'], domains: { nvlink: 9, leaf: 2, spine: 1 } }],
    [
      'a gantry plan cluster file',
      clusterFromDocument({ levels: ['rack'], nodes: [{ name: 'a', gpus: 8, domains: { rack: 'r1' } }, { name: 'b', gpus: 4, domains: { rack: 'r2' } }] }, 'c.yaml'),
      { nodes: 2, gpus: 12, levels: ['rack'], domains: { rack: 2 } },
    ],
  ];
  for (const [what, c, want] of cases) {
    const tree = buildTopology(c.levels, c.nodes);
    const domains = Object.fromEntries(c.levels.map((l) => [l, tree.domainCount[tree.levelIndex(l)]]));
    t.same({ nodes: tree.nodeCount, gpus: tree.totalGpus, levels: c.levels, domains }, want, what);
  }
  t.equal(parseNvl72('nvl72:4'), 4);
  t.equal(parseNvl72('cluster.yaml'), null);
  t.throws(() => parseNvl72('nvl72:x'), /nvl72:<racks>/);
  t.throws(() => shapeCluster({ nodes: 0, gpusPerNode: 8 }), new InvalidArgumentError('--nodes', 'must be a whole number in 1..200000, got 0'));
  t.throws(() => tiresiasCluster('num_switch,num_gpu_p_node\n1,4\n', 'x.csv'), /x\.csv:1:num_node_p_switch: column missing/);
});

t.test('gang shapes', async (t) => {
  const cases: Array<[number, number, { ranks: number; gpusPerRank: number }]> = [
    [1, 8, { ranks: 1, gpusPerRank: 1 }],
    [8, 8, { ranks: 1, gpusPerRank: 8 }],
    [16, 8, { ranks: 2, gpusPerRank: 8 }],
    [12, 8, { ranks: 2, gpusPerRank: 6 }],
    [12, 4, { ranks: 3, gpusPerRank: 4 }],
    [128, 8, { ranks: 16, gpusPerRank: 8 }],
    [7, 4, { ranks: 7, gpusPerRank: 1 }],
  ];
  for (const [gpus, per, want] of cases) t.same(gangShape(gpus, per), want, `${gpus} GPUs on ${per}-GPU nodes`);
});

t.test('offered load and scaling', async (t) => {
  const trace = parseTrace('submit_s,gpus,duration_s\n0,2,100\n50,4,50\n100,1,200\n', 'l.csv');
  // (2×100 + 4×50 + 1×200) / (8 GPUs × 100 s) = 600 / 800
  t.equal(offeredLoad(trace.jobs, 8), 0.75);
  for (const target of [0.5, 0.75, 1.5]) {
    const scaled = scaleArrivals(trace.jobs, 8, target);
    t.ok(Math.abs(offeredLoad(scaled, 8) - target) < 1e-12, `scaled to ${target}`);
    t.same(scaled.map((j) => j.durationS), [100, 50, 200], 'run times kept');
  }
  t.same(scaleArrivals(trace.jobs, 8, null), trace.jobs, 'null: as recorded');
  t.throws(() => scaleArrivals(trace.jobs, 8, 0), /--load: must be > 0/);
});

t.test('empirical CDF: at most 100 points, ties as one', async (t) => {
  t.same(cdf([3, 1, 1, 2]), [[1, 0.5], [2, 0.75], [3, 1]]);
  const many = cdf(Array.from({ length: 1000 }, (_, i) => i));
  t.equal(many.length, 100);
  t.same(many[0], [9, 0.01]);
  t.same(many[99], [999, 1]);
});

/** One run of a tiny trace on a small cluster. */
function run(traceText: string, cluster: ReturnType<typeof shapeCluster>, policy: string, localityPenalty: number): SimRun {
  const r = runSimulation({ cluster, trace: parseTrace(traceText, 'tiny.csv'), policies: policiesNamed([policy]), loads: [null], localities: [localityPenalty], recordStarts: true });
  return r.runs[0]!;
}

t.test('four jobs on two 4-GPU nodes (one leaf each), worked out by hand', async (t) => {
  // j1 takes node-0 until 100. j2 (8 GPUs, both nodes) waits with a reservation for t=101 (j1's time
  // limit, its run time + 1 s). j3 (2 GPUs, limit 51 s: ends by 71) and j4 (1 GPU, ends by 41)
  // backfill on node-1. j2 starts when j1 ends at 100 and runs 200 s. Its minimal domain is the
  // spine (no leaf holds 8 GPUs), so no locality penalty.
  const trace = 'submit_s,gpus,duration_s\n0,4,100\n10,8,200\n20,2,50\n30,1,10\n';
  const cluster = shapeCluster({ nodes: 2, gpusPerNode: 4, nodesPerLeaf: 1 });
  for (const policy of ['gantry', 'topology-blind']) {
    const r = run(trace, cluster, policy, 0.3);
    t.same(r.starts!.map((s) => [s.job, s.tS, s.ranks.map((x) => x.node).join('+')]), [
      ['job-1', 0, 'node-0'],
      ['job-3', 20, 'node-1'],
      ['job-4', 30, 'node-1'],
      ['job-2', 100, 'node-0+node-1'],
    ], `${policy}: starts`);
    // JCT 100, 290, 50, 10; waits 0, 90, 0, 0.
    t.same(r.jct, { n: 4, meanS: 112.5, p50S: 50, p99S: 290 }, `${policy}: JCT`);
    t.same(r.queueDelay, { n: 4, meanS: 22.5, p50S: 0, p99S: 90 }, `${policy}: queueing delay`);
    t.equal(r.makespanS, 300);
    // (4×100 + 8×200 + 2×50 + 1×10) / (8 × 300)
    t.equal(r.occupancy, Math.round((2110 / 2400) * 1e4) / 1e4);
    t.same(r.queueDelayByGangSize.map((b) => [b.bucket, b.n, b.meanS]), [['1', 1, 0], ['2-4', 2, 0], ['5-8', 1, 90]]);
    t.same(r.locality, { minimalDomainShare: 1, crossingsByLevel: { leaf: 1, spine: 0 } }, 'j2 crosses leaves, as it must');
    t.equal(r.completed, 4);
    t.equal(r.series.at(-1)!.busyGpus, 0, 'all done at the end');
  }
});

t.test('first fit splits a gang its minimal domain could hold; the locality penalty slows it', async (t) => {
  // 4 nodes × 4 GPUs, 2 per leaf. j1 (4 GPUs) takes node-0 for 1000 s. j2 (8 GPUs, 2 × 4) at 10:
  // gantry packs it in leaf-1 (node-2, node-3), its minimal domain; first fit takes node-1 and
  // node-2 (first nodes with room), crossing leaves: one level beyond its minimal, so at 30% per
  // level its 100 s run takes 130 s.
  const trace = 'submit_s,gpus,duration_s\n0,4,1000\n10,8,100\n';
  const cluster = shapeCluster({ nodes: 4, gpusPerNode: 4, nodesPerLeaf: 2 });
  const g = run(trace, cluster, 'gantry', 0.3);
  t.same(g.starts![1]!.ranks.map((x) => x.node), ['node-2', 'node-3']);
  t.same(g.locality, { minimalDomainShare: 1, crossingsByLevel: { leaf: 0, spine: 0 } });
  t.equal(g.jct.meanS, (1000 + 100) / 2);
  const f = run(trace, cluster, 'first-fit', 0.3);
  t.same(f.starts![1]!.ranks.map((x) => x.node), ['node-1', 'node-2']);
  // j1 (one node, 4 GPUs) is in its minimal domain, j2 is not.
  t.same(f.locality, { minimalDomainShare: 0.5, crossingsByLevel: { leaf: 1, spine: 0 } });
  t.equal(f.jct.meanS, (1000 + 130) / 2);
  const f0 = run(trace, cluster, 'first-fit', 0);
  t.equal(f0.jct.meanS, (1000 + 100) / 2, 'no penalty at 0');
});

t.test('fairness per queue and user; jobs larger than the cluster are left out', async (t) => {
  const trace = 'submit_s,gpus,duration_s,queue,user\n0,4,100,a,ann\n0,4,100,b,bob\n1,4,100,a,ann\n2,64,10,a,ann\n';
  const r = run(trace, shapeCluster({ nodes: 2, gpusPerNode: 4 }), 'gantry', 0);
  t.equal(r.rejected, 1);
  t.equal(r.completed, 3);
  // a: JCTs 100 and 199 (starts at 100 when one ends) over 100 s alone; b: 100.
  t.same(r.fairness, [
    { kind: 'queue', key: 'a', jobs: 2, ftfMean: 1.495, ftfMax: 1.99 },
    { kind: 'queue', key: 'b', jobs: 1, ftfMean: 1, ftfMax: 1 },
    { kind: 'user', key: 'ann', jobs: 2, ftfMean: 1.495, ftfMax: 1.99 },
    { kind: 'user', key: 'bob', jobs: 1, ftfMean: 1, ftfMax: 1 },
  ]);
  t.same(run('submit_s,gpus,duration_s\n0,1,1\n', shapeCluster({ nodes: 1, gpusPerNode: 1 }), 'gantry', 0).fairness, [], 'no queue or user columns: none');
});

t.test('spans', async (t) => {
  const c = shapeCluster({ nodes: 8, gpusPerNode: 8, nodesPerLeaf: 2, leavesPerSpine: 2 });
  const tree = buildTopology(c.levels, c.nodes);
  t.same(spanOf(tree, [0]), { level: 0, crossed: [] });
  t.same(spanOf(tree, [0, 1]), { level: 1, crossed: [] });
  t.same(spanOf(tree, [1, 2]), { level: 2, crossed: ['leaf'] });
  t.same(spanOf(tree, [0, 7]), { level: 3, crossed: ['leaf', 'spine'] });
});
