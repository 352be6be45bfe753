/**
 * The Slurm comparison's yardstick (bench/placement-oracle.ts) against a brute force over every
 * subset of nodes, on small two-level trees; and the seeded cases it judges.
 */
import t from 'tap';
import { compareCost, optimum, score, type Cost, type TreeShape } from '../../bench/placement-oracle.js';
import { gangsFor, N256G8, occupancy, SEEDS } from '../../bench/slurm-compare-cases.js';
import { Prng } from '../../bench/prng.js';

function bruteForce(shape: TreeShape, free: readonly number[], ranks: number, g: number): Cost | null {
  let best: Cost | null = null;
  for (let m = 1; m < 1 << free.length; m++) {
    const nodes: number[] = [];
    let room = 0;
    for (let i = 0; i < free.length; i++) {
      if (m & (1 << i)) {
        nodes.push(i);
        room += Math.floor(free[i]! / g);
      }
    }
    if (room < ranks) continue;
    const c = score(shape, nodes);
    if (!best || compareCost(c, best) < 0) best = c;
  }
  return best;
}

t.test('equals a brute force over node subsets on 2,000 small trees', async (t) => {
  const rng = new Prng(7);
  let mismatches = 0;
  for (let k = 0; k < 2000; k++) {
    const shape: TreeShape = { leaves: rng.int(1, 4), nodesPerLeaf: rng.int(1, 3), leavesPerSpine: rng.int(1, 2), gpusPerNode: 8 };
    const free = Array.from({ length: shape.leaves * shape.nodesPerLeaf }, () => rng.int(0, 8));
    const g = rng.pick([1, 2, 4, 8]);
    const ranks = rng.int(1, 12);
    const want = bruteForce(shape, free, ranks, g);
    const got = optimum(shape, free, ranks, g);
    if ((want === null) !== (got === null) || (want && got && compareCost(want, got) !== 0)) {
      mismatches++;
      if (mismatches <= 3) t.fail(`shape ${JSON.stringify(shape)} free ${free.join('')} ${ranks}×${g}: brute force ${JSON.stringify(want)}, oracle ${JSON.stringify(got)}`);
    }
  }
  t.equal(mismatches, 0);
});

t.test('the greedy trap: fewest nodes needs the right pair of leaves', async (t) => {
  // Leaves A (5+5), B (10), C (3+3+3), one spine, 19 one-GPU ranks: two leaves either way, but
  // only A+B does it in three nodes.
  const shape: TreeShape = { leaves: 3, nodesPerLeaf: 3, leavesPerSpine: 3, gpusPerNode: 10 };
  const got = optimum(shape, [5, 5, 0, 10, 0, 0, 3, 3, 3], 19, 1);
  t.match(got, { spines: 1, leaves: 2, nodes: 3, leafSet: [0, 1] });
});

t.test('every seeded occupancy is 30-60% busy and holds every gang', async (t) => {
  for (const seed of SEEDS) {
    const o = occupancy(seed);
    t.ok(o.busyFraction >= 0.3 && o.busyFraction <= 0.6, `seed ${seed}: ${o.busyFraction}`);
    t.same(occupancy(seed).busy, o.busy, 'deterministic');
    for (const g of gangsFor(false)) t.not(optimum(N256G8, o.busy.map((b) => 8 - b), g.ranks, g.gpusPerRank), null, `seed ${seed} ${g.kind} ${g.ranks}`);
  }
});
