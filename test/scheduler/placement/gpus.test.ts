import t from 'tap';
import { chooseGpus } from '../../../scheduler/placement/index.js';
import type { LinkGroup } from '../../../shared/domain/index.js';
import { rng } from '../../builders/prng.js';

const hgx: LinkGroup[] = [
  { kind: 'nvlink', gpus: [0, 1, 2, 3, 4, 5, 6, 7] },
  { kind: 'pcie-switch', gpus: [0, 1] },
  { kind: 'pcie-switch', gpus: [2, 3] },
  { kind: 'pcie-switch', gpus: [4, 5] },
  { kind: 'pcie-switch', gpus: [6, 7] },
  { kind: 'numa', gpus: [0, 1, 2, 3] },
  { kind: 'numa', gpus: [4, 5, 6, 7] },
];

const cases: [string, number[], LinkGroup[], number, number, number[][]][] = [
  ['pairs on a fresh node', [0, 1, 2, 3, 4, 5, 6, 7], hgx, 4, 2, [[0, 1], [2, 3], [4, 5], [6, 7]]],
  ['the only whole pair', [1, 3, 5, 6, 7], hgx, 1, 2, [[6, 7]]],
  ['NUMA half when no pair fits', [1, 3, 5], hgx, 1, 2, [[1, 3]]],
  ['best-fit NUMA half', [0, 4, 5, 6, 7], hgx, 1, 3, [[4, 5, 6]]],
  ['across groups when none holds the rank', [0, 4], hgx, 1, 2, [[0, 4]]],
  ['no link info: lowest indices', [2, 5, 7], [], 1, 2, [[2, 5]]],
  ['NVL pairs of a 4-GPU tray', [0, 1, 2, 3], [{ kind: 'nvlink', gpus: [0, 1] }, { kind: 'nvlink', gpus: [2, 3] }], 2, 2, [[0, 1], [2, 3]]],
];

t.test('link-group choice', async (t) => {
  for (const [label, free, groups, ranks, per, want] of cases) t.same(chooseGpus(free, groups, ranks, per), want, label);
});

t.test('nodes with more than 32 GPUs take the general path with the same answers', async (t) => {
  const r = rng(7);
  for (let i = 0; i < 200; i++) {
    const free = [0, 1, 2, 3, 4, 5, 6, 7].filter(() => r.chance(0.7));
    const per = r.int(1, 3);
    const ranks = Math.floor(free.length / per);
    if (ranks === 0) continue;
    const small = chooseGpus(free, hgx, ranks, per);
    // The same node with 40 more GPUs (all busy) beyond index 31 forces the general path.
    const big = chooseGpus(free, [...hgx, { kind: 'numa', gpus: [40, 41] }], ranks, per);
    t.same(big, small, JSON.stringify({ free, per }));
  }
});
