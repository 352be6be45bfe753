/** Node selection: nodeSelector over node labels (equality, set membership, the built-in gantry.io/node) and minimum driver/CUDA versions, with counted reasons. */
import t from 'tap';
import { explainText, place, placeJob, requestFromJobSpec, type GangRequest, type PlacementResult, type Reason } from '../../../scheduler/placement/index.js';
import { loadClusterText, nodeInputFromRecord } from '../../../scheduler/topology/index.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { validateJobSpec } from '../../../shared/jobspec/index.js';
import { cluster, nodeWithFree } from '../../builders/cluster.js';
import { jobSpec } from '../../builders/job.js';

const d = { rack: 'r1' };
const c = cluster(
  ['rack'],
  [
    nodeWithFree('a1', d, 8, 8, { labels: { pool: 'training', zone: 'a' } }),
    nodeWithFree('a2', d, 8, 8, { labels: { pool: 'training', zone: 'b' }, driver: '535.104.05', cuda: '12.2' }),
    nodeWithFree('b1', { rack: 'r2' }, 8, 8, { labels: { pool: 'inference', zone: 'c' }, driver: '550.100.01', cuda: '12.10' }),
    nodeWithFree('b2', { rack: 'r2' }, 8, 8, { driver: '', cuda: '' }),
    nodeWithFree('b3', { rack: 'r2' }, 8, 8, { labels: { pool: 'training', zone: 'c' }, driver: 'N/A', state: { unusable: 'cordoned' } }),
  ],
);

const nodes = (r: PlacementResult): string[] => (r.fits ? [...new Set(r.placement.ranks.map((x) => x.node))].sort() : []);
/** Per-node filter reasons (most first, then in natural order), without the room line (`none holds ...`). */
const nodeReasons = (r: PlacementResult): Reason[] => (r.fits ? [] : r.reasons.filter((x) => x.level === 'node' && !x.reason.startsWith('none holds')));
const gang = (extra: Partial<GangRequest>): GangRequest => ({ ranks: 1, gpusPerRank: 8, ...extra });

t.test('equality, set membership and all entries together', async (t) => {
  t.same(nodes(place(c.snapshot, gang({ ranks: 2, nodeSelector: { pool: 'training' } }))), ['a1', 'a2'], 'pool=training (b3 is cordoned)');
  t.same(nodes(place(c.snapshot, gang({ ranks: 2, nodeSelector: { zone: ['a', 'c'] } }))), ['a1', 'b1'], 'zone in [a, c]');
  t.same(nodes(place(c.snapshot, gang({ nodeSelector: { pool: 'training', zone: ['b', 'c'] } }))), ['a2'], 'both entries hold only on a2');
  t.same(nodes(place(c.snapshot, gang({ ranks: 4, nodeSelector: {} }))), ['a1', 'a2', 'b1', 'b2'], 'an empty selector selects every node');
});

t.test('reasons name the label, what the node has and what the job wants, counted per node', async (t) => {
  const r = place(c.snapshot, gang({ ranks: 3, nodeSelector: { pool: 'training' } }));
  t.equal(r.fits, false);
  t.same(nodeReasons(r), [
    { level: 'node', reason: 'cordoned', count: 1 },
    { level: 'node', reason: 'label pool is inference, not training', count: 1 },
    { level: 'node', reason: 'label pool missing (wants training)', count: 1 },
  ]);
  const s = place(c.snapshot, gang({ nodeSelector: { zone: ['d', 'e'] } }));
  t.same(nodeReasons(s), [
    { level: 'node', reason: 'cordoned', count: 1 },
    { level: 'node', reason: 'label zone is a, not one of d, e', count: 1 },
    { level: 'node', reason: 'label zone is b, not one of d, e', count: 1 },
    { level: 'node', reason: 'label zone is c, not one of d, e', count: 1 },
    { level: 'node', reason: 'label zone missing (wants one of d, e)', count: 1 },
  ]);
  // The first entry that fails is the one named, in the selector's order.
  const both = place(c.snapshot, gang({ nodeSelector: { zone: 'a', pool: 'gpu' } }));
  t.same(nodeReasons(both).map((x) => x.reason), ['cordoned', 'label pool is training, not gpu', 'label zone is b, not a', 'label zone is c, not a', 'label zone missing (wants a)']);
  t.match(explainText(s), /\n  1 node: label zone missing \(wants one of d, e\)\n/);
});

t.test('gantry.io/node is every node\'s name', async (t) => {
  t.same(nodes(place(c.snapshot, gang({ ranks: 2, nodeSelector: { 'gantry.io/node': ['a2', 'b2'] } }))), ['a2', 'b2']);
  const r = place(c.snapshot, gang({ nodeSelector: { 'gantry.io/node': 'zz' } }));
  t.same(nodeReasons(r), [
    { level: 'node', reason: 'label gantry.io/node is not zz', count: 4 },
    { level: 'node', reason: 'cordoned', count: 1 },
  ], 'one counted line, not one per node name');
  const two = place(c.snapshot, gang({ nodeSelector: { 'gantry.io/node': ['zz', 'yy'] } }));
  t.equal(nodeReasons(two)[0]?.reason, 'label gantry.io/node is not one of zz, yy');
});

t.test('minimum driver and CUDA versions, compared numerically; unknown versions fail with their own reason', async (t) => {
  // Drivers: a1 550.54.15, a2 535.104.05, b1 550.100.01, b2 unknown; CUDA: 12.4, 12.2, 12.10, unknown.
  t.same(nodes(place(c.snapshot, gang({ ranks: 2, accelerator: { minDriver: '550.54' } }))), ['a1', 'b1']);
  t.same(nodes(place(c.snapshot, gang({ accelerator: { minDriver: '550.60' } }))), ['b1'], '550.100 > 550.60');
  t.same(nodes(place(c.snapshot, gang({ accelerator: { minCuda: '12.5' } }))), ['b1'], '12.10 > 12.5');
  t.same(nodes(place(c.snapshot, gang({ ranks: 3, accelerator: { minCuda: '12' } }))), ['a1', 'a2', 'b1'], '12 means 12.0');
  const r = place(c.snapshot, gang({ ranks: 2, accelerator: { minDriver: '550.100.1' } }));
  t.same(nodeReasons(r), [
    { level: 'node', reason: 'cordoned', count: 1 },
    { level: 'node', reason: 'driver 535.104.05 below 550.100.1', count: 1 },
    { level: 'node', reason: 'driver 550.54.15 below 550.100.1', count: 1 },
    { level: 'node', reason: 'driver unknown', count: 1 },
  ]);
  const cu = place(c.snapshot, gang({ ranks: 3, accelerator: { minCuda: '12.4' } }));
  t.same(nodeReasons(cu), [
    { level: 'node', reason: 'CUDA 12.2 below 12.4', count: 1 },
    { level: 'node', reason: 'CUDA unknown', count: 1 },
    { level: 'node', reason: 'cordoned', count: 1 },
  ]);
  // Counted: two nodes failing alike make one line; the label is checked before the versions.
  const old = place(c.snapshot, gang({ ranks: 2, nodeSelector: { pool: ['inference', 'none'] }, accelerator: { minDriver: '999' } }));
  t.same(nodeReasons(old), [
    { level: 'node', reason: 'label pool is training, not one of inference, none', count: 2 },
    { level: 'node', reason: 'cordoned', count: 1 },
    { level: 'node', reason: 'driver 550.100.01 below 999', count: 1 },
    { level: 'node', reason: 'label pool missing (wants one of inference, none)', count: 1 },
  ]);
  // A driver that is not a version is unknown, with what it reads.
  const c2 = cluster(['rack'], [nodeWithFree('x', d, 8, 8, { driver: 'N/A' })]);
  t.same(nodeReasons(place(c2.snapshot, gang({ accelerator: { minDriver: '1' } }))), [{ level: 'node', reason: 'driver unknown (N/A)', count: 1 }]);
});

t.test('filters are cached per selector and versions, never mixed up', async (t) => {
  // Same snapshot, alternate requests: each must see its own mask.
  for (let i = 0; i < 3; i++) {
    t.same(nodes(place(c.snapshot, gang({ nodeSelector: { zone: 'b' } }))), ['a2']);
    t.same(nodes(place(c.snapshot, gang({ nodeSelector: { zone: ['b'] } }))), ['a2']);
    t.same(nodes(place(c.snapshot, gang({ nodeSelector: { zone: 'c' } }))), ['b1']);
    t.same(nodes(place(c.snapshot, gang({ accelerator: { minCuda: '12.10' } }))), ['b1']);
    t.same(nodes(place(c.snapshot, gang({ accelerator: { minDriver: '12.10' } }))), ['a1'], 'minDriver 12.10 is not minCuda 12.10');
  }
});

t.test('requestFromJobSpec carries the selector and versions; placeJob honours them for every unit', async (t) => {
  const spec = validateJobSpec(jobSpec({ kind: 'Batch', shards: 2, gpusPerRank: 8, nodeSelector: { pool: 'training' }, accelerator: { minCuda: '12.2' } }));
  const job = requestFromJobSpec(spec);
  t.same(job.gang.nodeSelector, { pool: 'training' });
  t.same(job.gang.accelerator, { minCuda: '12.2' });
  const snap = c.snapshot;
  const out = placeJob(snap, job);
  t.ok(out.fits);
  t.same(out.placements.map((p) => p.ranks[0]?.node).sort(), ['a1', 'a2']);
  for (const p of out.placements) snap.release(p);
});

t.test('cluster file labels: matched, validated, gantry.io/node refused', async (t) => {
  const file = (labels: string): string => `levels: []\nnodes:\n  - {name: n1, gpus: 4, driver: "550.54.15", cuda: "12.4"${labels}}\n  - {name: n2, gpus: 4}\n`;
  const l = loadClusterText(file(', labels: {pool: training, example.com/tier: gold}'));
  t.same(nodes(place(l.snapshot, gang({ gpusPerRank: 4, nodeSelector: { 'example.com/tier': 'gold' } }))), ['n1']);
  t.same(nodeReasons(place(l.snapshot, gang({ ranks: 2, gpusPerRank: 4, nodeSelector: { pool: 'training' } }))), [
    { level: 'node', reason: 'label pool missing (wants training)', count: 1 },
  ]);
  for (const [labels, field] of [
    [', labels: {"bad key": x}', 'nodes[0].labels.bad key'],
    [', labels: {gantry.io/node: n1}', 'nodes[0].labels.gantry.io/node'],
    [', labels: {pool: 3}', 'nodes[0].labels.pool'],
  ] as const) {
    try {
      loadClusterText(file(labels));
      t.fail(`${labels}: accepted`);
    } catch (e) {
      t.ok(e instanceof InvalidArgumentError);
      t.equal((e as InvalidArgumentError).field, field, (e as Error).message);
    }
  }
});

t.test('node records: the agent\'s labels, without a gantry.io/node of its own', async (t) => {
  const record = { name: 'gpu-07', labels: { pool: 'training', 'gantry.io/node': 'gpu-01' }, inventory: { gpus: [], topology: { domains: {}, linkGroups: [], fabric: null }, firmware: { driverVersion: '', cudaVersion: '' } } };
  const input = nodeInputFromRecord(record as never, []);
  t.same(input.labels, { pool: 'training' });
  const one = cluster([], [nodeWithFree('gpu-07', {}, 8, 8, { labels: { ...input.labels, 'gantry.io/node': 'gpu-01' } })]);
  t.equal(place(one.snapshot, gang({ nodeSelector: { 'gantry.io/node': 'gpu-01' } })).fits, false, 'a label cannot rename a node for selection');
  t.equal(place(one.snapshot, gang({ nodeSelector: { 'gantry.io/node': 'gpu-07' } })).fits, true);
});
