/**
 * What the Slurm comparison (bench/slurm-compare.ts) places: the n256g8 shape, the seeded
 * occupancies and the gangs, all fixed here so both schedulers (run one after the other) see
 * exactly the same cases.
 *
 * Occupancy of a seed: an overall busy level is not drawn directly; each leaf draws its own
 * busyness b in [0.15, 0.70], then each of its nodes is wholly busy (8 GPUs) with probability
 * 0.6·b, wholly free with probability 0.6·(1 − b), else has 1–7 GPUs busy (uniform). The
 * expected busy fraction is 0.6·b + 0.2, so 0.29–0.62 per leaf; a seed is kept only when the
 * whole cluster lands in 30–60% busy (the next draw of the same PRNG otherwise). Leaves thus
 * differ (so which leaves a gang uses matters), and partly busy nodes make rank counts per node
 * matter for the 1-GPU and 4-GPU gangs.
 */
import { Prng } from './prng.js';
import type { TreeShape } from './placement-oracle.js';

/** 8 leaves × 32 nodes × 8 GPUs, 2 spines of 4 leaves. */
export const N256G8: TreeShape = { leaves: 8, nodesPerLeaf: 32, leavesPerSpine: 4, gpusPerNode: 8 };
export const NODES = N256G8.leaves * N256G8.nodesPerLeaf;

export const SEEDS = [101, 202, 303, 404, 505, 606] as const;

export type GangKind = 'whole-node' | '1-gpu-ranks' | '4-gpu-ranks';

export interface Gang {
  kind: GangKind;
  ranks: number;
  gpusPerRank: number;
}

/** Gang sizes per kind (ranks), 2 to 64 nodes' worth of GPUs. */
export const GANG_SIZES: Record<GangKind, { gpusPerRank: number; ranks: number[]; quick: number[] }> = {
  'whole-node': { gpusPerRank: 8, ranks: [2, 3, 4, 6, 8, 12, 16, 20, 24, 32, 40], quick: [3, 12, 24] },
  '1-gpu-ranks': { gpusPerRank: 1, ranks: [16, 24, 40, 64, 100, 160, 256], quick: [24, 100] },
  '4-gpu-ranks': { gpusPerRank: 4, ranks: [4, 6, 10, 16, 24, 40, 64, 96, 128], quick: [10, 40] },
};

export function gangsFor(quick: boolean): Gang[] {
  const out: Gang[] = [];
  for (const [kind, s] of Object.entries(GANG_SIZES) as Array<[GangKind, (typeof GANG_SIZES)[GangKind]]>) {
    for (const ranks of quick ? s.quick : s.ranks) out.push({ kind, ranks, gpusPerRank: s.gpusPerRank });
  }
  return out;
}

export interface Occupancy {
  seed: number;
  /** Busy GPUs per node, node index 0..255 (Slurm's sim0001.., Gantry's sim-0000..). */
  busy: number[];
  busyFraction: number;
}

export function occupancy(seed: number): Occupancy {
  const rng = new Prng(seed);
  for (;;) {
    const busy: number[] = [];
    for (let l = 0; l < N256G8.leaves; l++) {
      const b = 0.15 + 0.55 * rng.next();
      for (let n = 0; n < N256G8.nodesPerLeaf; n++) {
        const u = rng.next();
        busy.push(u < 0.6 * b ? 8 : u < 0.6 ? 0 : rng.int(1, 7));
      }
    }
    const busyFraction = busy.reduce((a, b) => a + b, 0) / (NODES * N256G8.gpusPerNode);
    if (busyFraction >= 0.3 && busyFraction <= 0.6) return { seed, busy, busyFraction };
  }
}

/** Per leaf: busy GPUs, wholly free nodes, nodes with 1–7 busy (for the report). */
export function leafSummary(o: Occupancy): Array<{ leaf: number; busyGpus: number; freeNodes: number; partialNodes: number; fullNodes: number }> {
  const out = [];
  for (let l = 0; l < N256G8.leaves; l++) {
    const b = o.busy.slice(l * N256G8.nodesPerLeaf, (l + 1) * N256G8.nodesPerLeaf);
    out.push({ leaf: l, busyGpus: b.reduce((x, y) => x + y, 0), freeNodes: b.filter((x) => x === 0).length, partialNodes: b.filter((x) => x > 0 && x < 8).length, fullNodes: b.filter((x) => x === 8).length });
  }
  return out;
}

/** The gang as text, e.g. "12 ranks × 8 GPUs". */
export const gangText = (g: Gang): string => `${g.ranks} ranks × ${g.gpusPerRank} GPU${g.gpusPerRank === 1 ? '' : 's'}`;
