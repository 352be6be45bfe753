/**
 * At a larger scale: whole-node gangs against an exact tree computation of the optimum
 * (bench/whole-node-reference.ts), and capacity views kept current by reserve/release
 * against views built fresh.
 */
import t from 'tap';
import { place, placementKey, type GangRequest, type Placement } from '../../../scheduler/placement/index.js';
import { buildTopology, ClusterSnapshot, type TopologyNodeInput } from '../../../scheduler/topology/index.js';
import { wholeNodeOptimum } from '../../../bench/whole-node-reference.js';
import { randomGang } from '../../builders/gang.js';
import { rng } from '../../builders/prng.js';

function mediumTree(seed: number) {
  // 2 spines × 4 leaves × 3 NVLink domains × 1-6 nodes of 4 GPUs, plus single HGX-like nodes.
  const r = rng(seed);
  const nodes: TopologyNodeInput[] = [];
  for (let s = 0; s < 2; s++) {
    for (let l = 0; l < 4; l++) {
      for (let d = 0; d < 3; d++) {
        const size = r.int(1, 6);
        for (let i = 0; i < size; i++) nodes.push({ name: `n-${s}-${l}-${d}-${i}`, gpus: 4, domains: { nvlink: `nvl-${s}-${l}-${d}`, leaf: `leaf-${s}-${l}`, spine: `spine-${s}` } });
      }
      for (let i = 0; i < r.int(0, 4); i++) nodes.push({ name: `h-${s}-${l}-${i}`, gpus: 4, domains: { leaf: `leaf-${s}-${l}`, spine: `spine-${s}` } });
    }
  }
  return { tree: buildTopology(['nvlink', 'leaf', 'spine'], nodes), r };
}

t.test('whole-node gangs equal the exact tree optimum', async (t) => {
  let checked = 0;
  let fitted = 0;
  for (let seed = 1; seed <= 12; seed++) {
    const { tree, r } = mediumTree(seed);
    const busy = new Set(tree.names[0]?.filter(() => r.chance(0.4)));
    const snap = ClusterSnapshot.create(tree, (name) => (busy.has(name) ? { usedGpus: [r.int(0, 3)] } : undefined));
    const open = new Uint8Array(tree.nodeCount);
    for (let n = 0; n < tree.nodeCount; n++) open[n] = snap.nodeFree[n] === 4 ? 1 : 0;
    for (let k = 0; k < 10; k++) {
      const R = r.int(1, Math.min(60, tree.nodeCount));
      const topology = r.pick([{ preferred: 'nvlink' }, { required: 'spine', preferred: 'leaf' }, { required: 'leaf' }, { preferred: 'leaf' }]);
      const ref = wholeNodeOptimum(tree, open, R, 'required' in topology ? tree.levelIndex(topology.required as string) : tree.top);
      const res = place(snap, { ranks: R, gpusPerRank: 4, topology });
      checked++;
      t.equal(res.fits, ref !== null, `seed ${seed} R ${R} ${JSON.stringify(topology)}: fits`);
      if (!res.fits || !ref) continue;
      fitted++;
      t.same([tree.levelIndex(res.placement.level), ...res.placement.counts.map((c) => c.count)], [ref.level, ...ref.counts], `seed ${seed} R ${R} ${JSON.stringify(topology)}`);
    }
  }
  t.equal(checked, 120);
  t.ok(fitted > 60, `${fitted} fitting gangs checked`);
});

t.test('capacity views kept current by reserve/release answer like fresh ones', async (t) => {
  const { tree, r } = mediumTree(99);
  const snap = ClusterSnapshot.create(tree);
  const held: Placement[] = [];
  let compared = 0;
  for (let step = 0; step < 400; step++) {
    const gang: GangRequest = randomGang(r, tree, 40);
    delete gang.accelerator;
    const res = place(snap, gang);
    // A fresh snapshot with the same state has no views yet: it must answer the same.
    const fresh = snap.clone();
    t.same(placementKey(fresh, gang), res.fits ? placementKey(snap, gang) : null, `step ${step}`);
    compared++;
    if (res.fits) {
      snap.reserve(res.placement);
      held.push(res.placement);
    }
    if (held.length && r.chance(0.45)) snap.release(held.splice(r.int(0, held.length - 1), 1)[0] as Placement);
  }
  t.equal(compared, 400);
});
