import t from 'tap';
import { modeForJob, placeJob, placeReplicas, placeShards, releaseAll, requestFromJobSpec } from '../../../scheduler/placement/index.js';
import { validateJobSpec } from '../../../shared/jobspec/index.js';
import { rackCluster } from '../../builders/cluster.js';
import { jobSpec } from '../../builders/job.js';

t.test('inference replicas spread across the spread level, each packed', async (t) => {
  const c = rackCluster(1, 3, 2); // 3 racks × 2 nodes × 8 GPUs
  const out = placeReplicas(c.snapshot, { ranks: 2, gpusPerRank: 4, topology: { required: 'node' } }, 4, { spread: 'rack' });
  t.equal(out.placements.length, 4);
  t.equal(out.failed, null);
  const racks = out.placements.map((p) => p.domainsUsed.find((d) => d.level === 'rack')?.names[0]);
  t.same(new Set(racks.slice(0, 3)).size, 3, 'the first three replicas in three different racks');
  for (const p of out.placements) t.equal(p.level, 'node', 'each replica packed on one node');
  t.same([...c.snapshot.nodeFree].reduce((a, b) => a + b, 0), 48 - 32, 'replicas are reserved');
  releaseAll(c.snapshot, out.placements);
  t.same([...c.snapshot.nodeFree], [8, 8, 8, 8, 8, 8], 'released whole');
});

t.test('replicas that cannot all fit: the ones that do are reserved, the first failure says why', async (t) => {
  const c = rackCluster(1, 2, 1);
  const out = placeReplicas(c.snapshot, { ranks: 1, gpusPerRank: 8 }, 3, { spread: 'rack' });
  t.equal(out.placements.length, 2);
  t.equal(out.failed?.fits, false);
  if (out.failed && !out.failed.fits) t.match(out.failed.reasons[0]?.reason, /fewer than 8 free healthy GPUs/);
  t.throws(() => placeReplicas(c.snapshot, { ranks: 1, gpusPerRank: 1 }, 1, { spread: 'zone' }), /spread: unknown level "zone"/);
});

t.test('batch shards fill the gaps first', async (t) => {
  const c = rackCluster(1, 2, 1);
  c.snapshot.reserve({ ranks: [{ nodeId: 1, gpus: [0, 1, 2, 3, 4, 5] }] });
  const out = placeShards(c.snapshot, { ranks: 1, gpusPerRank: 1 }, 3);
  t.same(out.placements.map((p) => p.ranks[0]?.node), ['n-0-1-0', 'n-0-1-0', 'n-0-0-0'], 'the fuller node first, then the next');
});

t.test('placeJob per kind', async (t) => {
  const train = requestFromJobSpec(validateJobSpec(jobSpec({ ranks: 4, gpusPerRank: 2, topology: { required: 'rack' } })));
  t.same(train.gang, { ranks: 4, gpusPerRank: 2, topology: { required: 'rack' }, mode: 'pack' });
  t.equal(train.units, 1);
  const c = rackCluster(1, 2, 2);
  const trained = placeJob(c.snapshot, train);
  t.equal(trained.fits, true);
  t.equal(trained.mode, 'pack');
  t.equal(trained.placements[0]?.mode, 'pack', 'the gang was really placed in pack mode');
  const inf = requestFromJobSpec(validateJobSpec(jobSpec({ kind: 'Inference', ranks: 1, gpusPerRank: 8, replicas: { min: 2, max: 5 }, spread: 'rack' })));
  t.equal(inf.gang.mode, 'pack');
  const out = placeJob(c.snapshot, inf);
  t.equal(out.placements.length, 3, 'room for three more whole nodes');
  t.equal(out.fits, true, 'at least the minimum of two');
  const batch = requestFromJobSpec(validateJobSpec(jobSpec({ kind: 'Batch', shards: 3, topology: { required: 'rack' } })));
  t.equal(batch.gang.mode, 'fill', 'batch shards fill even with a level');
  t.equal(placeJob(c.snapshot, batch).fits, false, 'every shard must fit');
});

t.test('the mode of each kind (modeForJob), carried on the request and used by placeJob', async (t) => {
  const cases: Array<{ spec: Record<string, unknown>; mode: 'pack' | 'fill' }> = [
    { spec: { ranks: 2, topology: { required: 'rack' } }, mode: 'pack' },
    { spec: { ranks: 2, topology: { preferred: 'rack' } }, mode: 'pack' },
    { spec: { ranks: 2, topology: { required: 'spine', preferred: 'rack' } }, mode: 'pack' },
    { spec: { ranks: 2 }, mode: 'fill' },
    { spec: { ranks: 2, topology: { slice: { size: 2, level: 'rack' } } }, mode: 'fill' },
    { spec: { kind: 'Inference', ranks: 1 }, mode: 'pack' },
    { spec: { kind: 'Inference', ranks: 1, topology: { required: 'rack' } }, mode: 'pack' },
    { spec: { kind: 'Batch', shards: 2 }, mode: 'fill' },
    { spec: { kind: 'Batch', shards: 2, topology: { preferred: 'rack' } }, mode: 'fill' },
  ];
  for (const { spec, mode } of cases) {
    const v = validateJobSpec(jobSpec(spec));
    t.equal(modeForJob(v), mode, JSON.stringify(spec));
    const req = requestFromJobSpec(v);
    t.equal(req.gang.mode, mode);
    const c = rackCluster(1, 2, 2);
    const out = placeJob(c.snapshot, req);
    t.equal(out.mode, mode);
    t.ok(out.placements.every((p) => p.mode === mode), `${JSON.stringify(spec)}: every unit placed in ${mode} mode`);
  }
});

t.test('a caller mask (service ports) composes with spread: masked nodes take no replica, and a replica that fits nowhere counts the mask reason', async (t) => {
  const c = rackCluster(1, 3, 1); // rack-0-0 … rack-0-2, one 8-GPU node each
  const mask = Uint8Array.from([1, 0, 1]);
  const maskReason = "service ports 9400–9403 overlap job a-1's (9400–9403)";
  const out = placeReplicas(c.snapshot, { ranks: 1, gpusPerRank: 4 }, 5, { spread: 'rack', nodeMask: mask, maskReason });
  const nodes = out.placements.map((p) => p.ranks[0]!.node);
  t.same(nodes, ['n-0-0-0', 'n-0-2-0', 'n-0-0-0', 'n-0-2-0'], 'spread over the unmasked racks, never the masked node');
  t.equal(out.failed?.fits, false, 'the fifth fits nowhere unmasked');
  if (out.failed && !out.failed.fits) t.same(out.failed.reasons.find((r) => r.reason === maskReason), { level: 'node', reason: maskReason, count: 1 }, 'the masked node is counted under the caller reason, not spread');
  releaseAll(c.snapshot, out.placements);
  const job = placeJob(c.snapshot, requestFromJobSpec(validateJobSpec(jobSpec({ kind: 'Inference', name: 's', ranks: 1, gpusPerRank: 8, replicas: { min: 3, max: 3 } }))), { nodeMask: mask, maskReason });
  t.equal(job.fits, false, 'placeJob honours the mask: three whole-node replicas need the masked node');
  t.equal(job.placements.length, 2);
});
