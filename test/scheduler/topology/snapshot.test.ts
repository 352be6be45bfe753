import t from 'tap';
import { buildTopology, ClusterSnapshot, GPU_FREE, GPU_UNHEALTHY, GPU_USED } from '../../../scheduler/topology/index.js';

const tree = buildTopology(
  ['leaf'],
  [
    { name: 'a', gpus: 4, domains: { leaf: 'l1' } },
    { name: 'b', gpus: 4, domains: { leaf: 'l1' } },
    { name: 'c', gpus: 8, domains: { leaf: 'l2' } },
  ],
);

function snap(): ClusterSnapshot {
  return ClusterSnapshot.create(tree, (name) =>
    name === 'a' ? { usedGpus: [0], unhealthyGpus: [0, 3] } : name === 'c' ? { unusable: 'cordoned', usedGpus: [1] } : undefined,
  );
}

t.test('free GPUs per node and per domain (usable nodes only)', async (t) => {
  const s = snap();
  t.same([...s.nodeFree], [2, 4, 7]);
  t.equal(s.gpuState[0], GPU_UNHEALTHY, 'unhealthy wins over used');
  t.equal(s.gpuState[1], GPU_FREE);
  t.same(s.freeGpus(0), [1, 2]);
  t.same([...(s.domainFree[1] as Int32Array)], [6, 0], 'the cordoned node counts for nothing');
  t.same([...(s.domainFree[2] as Int32Array)], [6]);
  t.same(s.unusable, [null, null, 'cordoned']);
});

t.test('reserve and release round trip, with the change log', async (t) => {
  const s = snap();
  const claim = { ranks: [{ nodeId: 0, gpus: [1, 2] }, { nodeId: 1, gpus: [0] }] };
  s.reserve(claim);
  t.same([...s.nodeFree], [0, 3, 7]);
  t.same([...(s.domainFree[1] as Int32Array)], [3, 0]);
  t.equal(s.gpuState[2], GPU_USED);
  t.same(s.changeLog, [0, 1]);
  t.equal(s.version, 1);
  s.release(claim);
  t.same([...s.nodeFree], [2, 4, 7]);
  t.same([...(s.domainFree[2] as Int32Array)], [6]);
  t.equal(s.version, 2);
});

t.test('reserve refuses GPUs that are not free and changes nothing', async (t) => {
  const s = snap();
  t.throws(() => s.reserve({ ranks: [{ nodeId: 1, gpus: [0] }, { nodeId: 0, gpus: [0] }] }), /not free/);
  t.throws(() => s.reserve({ ranks: [{ nodeId: 1, gpus: [0] }, { nodeId: 1, gpus: [0] }] }), /claimed twice/);
  t.same([...s.nodeFree], [2, 4, 7]);
  t.throws(() => s.release({ ranks: [{ nodeId: 1, gpus: [0] }] }), /not in use/);
});

t.test('clone is independent', async (t) => {
  const s = snap();
  const c = s.clone();
  c.reserve({ ranks: [{ nodeId: 1, gpus: [0, 1, 2, 3] }] });
  t.same([...s.nodeFree], [2, 4, 7]);
  t.same([...c.nodeFree], [2, 0, 7]);
});

t.test('bad GPU indices in state are refused', async (t) => {
  t.throws(() => ClusterSnapshot.create(tree, (name) => (name === 'b' ? { usedGpus: [4] } : undefined)), /b\.usedGpus: GPU index 4/);
});
