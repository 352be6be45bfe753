/**
 * Exact reference for whole-node gangs at any scale: every fully free eligible node
 * holds one rank, and a tree computation gives the optimum of objectives (1)-(3):
 * the lowest level whose single domain holds the gang, then the lexicographically
 * smallest vector of domains used per level below it (coarsest first, nodes last).
 *
 * Independent of the engine: per domain, an array over exact rank counts 0..R of
 * count vectors, merged child by child with a plain O(R^2) knapsack. No weight
 * encoding, no Pareto pruning, no closed forms.
 */
import type { TopologyTree } from '../scheduler/topology/index.js';

type Vec = number[] | null; // null: impossible

function lexLess(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as number) < (b[i] as number);
  return false;
}

export interface WholeNodeOptimum {
  level: number;
  /** Domains used per level below `level`, coarsest first (nodes last). */
  counts: number[];
}

/**
 * @param open 1 for each node (by id) that can take one whole-node rank.
 * @param capLevel the highest level the gang may span (the required level, else the root).
 */
export function wholeNodeOptimum(tree: TopologyTree, open: Uint8Array, R: number, capLevel: number): WholeNodeOptimum | null {
  // Open nodes per domain per level.
  const openCount: Int32Array[] = [];
  for (let l = 0; l <= tree.top; l++) {
    const arr = new Int32Array(tree.domainCount[l] as number);
    for (let n = 0; n < tree.nodeCount; n++) {
      if (open[n] !== 1) continue;
      const d = (tree.ancestor[l] as Int32Array)[n] as number;
      arr[d] = (arr[d] as number) + 1;
    }
    openCount.push(arr);
  }
  let lambda = -1;
  for (let l = 0; l <= capLevel; l++) {
    if ((openCount[l] as Int32Array).some((c) => c >= R)) {
      lambda = l;
      break;
    }
  }
  if (lambda < 0) return null;
  if (lambda === 0) return { level: 0, counts: [] };
  // table(l, d)[a]: best vector (levels l-1..0) to place exactly a ranks in domain d.
  const table = (l: number, d: number): Vec[] => {
    const cap = Math.min(R, (openCount[l] as Int32Array)[d] as number);
    if (l === 1) {
      const out: Vec[] = [];
      for (let a = 0; a <= cap; a++) out.push([a]);
      return out;
    }
    const s = (tree.childStart[l] as Int32Array)[d] as number;
    const e = (tree.childEnd[l] as Int32Array)[d] as number;
    let dp: Vec[] = [new Array<number>(l).fill(0)];
    for (let c = s; c < e; c++) {
      if (((openCount[l - 1] as Int32Array)[c] as number) === 0) continue;
      const child = table(l - 1, c) as Vec[];
      const limit = Math.min(cap, dp.length - 1 + child.length - 1);
      const next: Vec[] = new Array<Vec>(limit + 1).fill(null);
      for (let a = 0; a < dp.length; a++) {
        const base = dp[a];
        if (!base) continue;
        for (let b = 0; b < child.length && a + b <= limit; b++) {
          const cv = child[b];
          if (!cv) continue;
          const v = base.slice();
          if (b > 0) {
            v[0] = (v[0] as number) + 1; // the child itself, at level l-1
            for (let k = 0; k < cv.length; k++) v[k + 1] = (v[k + 1] as number) + (cv[k] as number);
          }
          const cur = next[a + b];
          if (!cur || lexLess(v, cur)) next[a + b] = v;
        }
      }
      dp = next;
    }
    return dp;
  };
  let best: number[] | null = null;
  const counts = openCount[lambda] as Int32Array;
  for (let d = 0; d < counts.length; d++) {
    if ((counts[d] as number) < R) continue;
    const v = table(lambda, d)[R];
    if (v && (!best || lexLess(v, best))) best = v;
  }
  return best ? { level: lambda, counts: best } : null;
}
