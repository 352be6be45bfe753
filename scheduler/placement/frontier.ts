/**
 * Exact domain-count frontiers.
 *
 * The cost of using a set of domains below the chosen domain D is the vector of how
 * many domains it uses at each level, coarsest first (objective 2, ending with the
 * node count, objective 3). With the tree's mixed-radix weights that vector is one
 * exact integer, and lexicographic order is numeric order, which is also preserved by
 * addition. So the classic knapsack over children works on it unchanged:
 *
 *   frontier(d) = the points (cost, amount) such that `amount` units (ranks, or slices
 *   at and above the slice level) fit in d using domains of total cost `cost`, and no
 *   cheaper combination fits as many: amounts strictly increase with cost.
 *
 * A node's frontier is one point; a domain's frontier is its children's merged (a
 * min-plus knapsack keeping only the Pareto points, amounts capped at the gang's
 * need). When every child has a single point of the same cost (nodes under a rack;
 * HGX nodes that are their own NVLink domain), the merge is closed-form: take the
 * children with the most room first. The result is exact for objectives (1)-(3).
 */

/** The points of one frontier: costs ascending, amounts strictly ascending. */
export interface Points {
  n: number;
  cost: Float64Array;
  amt: Int32Array;
}

/** One knapsack step: the frontier after merging `child` into the previous one. */
export interface Step {
  child: Frontier;
  /** For each point: the previous frontier's point it extends. */
  prev: Int32Array;
  /** For each point: the child's (exported) point used, -1 when the child is unused. */
  q: Int32Array;
}

export type FrontierKind = 'leaves' | 'steps';

export interface Frontier {
  level: number;
  id: number;
  /** Points inside the domain, in the units of its children (what placing in it costs below it). */
  inner: Points;
  /** Points as the parent sees them: cost plus this domain's own weight, amount in the parent's units. */
  outer: Points;
  /** outer point -> inner point. */
  outerToInner: Int32Array;
  kind: FrontierKind;
  /** `leaves`: children ids (level-1) with room, and their amount and cost (all costs equal). */
  leafIds: Int32Array;
  leafAmt: Int32Array;
  leafCost: number;
  leafChildren: Frontier[] | null;
  /** `steps`: the knapsack steps, in child order. */
  steps: Step[];
}

/** Index of the first point with amount >= need, or -1. */
export function firstAtLeast(p: Points, need: number): number {
  let lo = 0;
  let hi = p.n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((p.amt[mid] as number) >= need) hi = mid;
    else lo = mid + 1;
  }
  return lo < p.n ? lo : -1;
}

/** Cost of placing `need` units through this frontier's outer points (Infinity when it cannot). */
export function outerCostFor(f: Frontier, need: number): number {
  const i = firstAtLeast(f.outer, need);
  return i < 0 ? Infinity : (f.outer.cost[i] as number);
}

export const EMPTY_POINTS: Points = { n: 0, cost: new Float64Array(0), amt: new Int32Array(0) };

/** Reusable scratch for merges (one per engine; the engine is synchronous). */
export class MergeScratch {
  bestCost = new Float64Array(0);
  bestI = new Int32Array(0);
  bestJ = new Int32Array(0);
  touched = new Int32Array(0);
  sortBuf = new Int32Array(0);
  keepBuf = new Int32Array(0);

  ensureKeep(n: number): Int32Array {
    if (this.keepBuf.length < n) this.keepBuf = new Int32Array(Math.max(n, this.keepBuf.length * 2, 64));
    return this.keepBuf;
  }

  ensure(cap: number): void {
    if (this.bestCost.length > cap) return;
    const size = Math.max(cap + 1, this.bestCost.length * 2, 64);
    this.bestCost = new Float64Array(size).fill(Infinity);
    this.bestI = new Int32Array(size);
    this.bestJ = new Int32Array(size);
    this.touched = new Int32Array(size);
  }

  ensureSort(n: number): Int32Array {
    if (this.sortBuf.length < n) this.sortBuf = new Int32Array(Math.max(n, this.sortBuf.length * 2, 64));
    return this.sortBuf;
  }
}

/**
 * At the chosen domain the objective uses exactly `k` children (the fewest possible, a
 * weight `unit` each): a partial combination with k children that does not yet hold
 * the need can never be completed, and one with k-1 children only needs the cheapest
 * child point that completes it.
 */
export interface ChildLimit {
  unit: number;
  k: number;
}

/**
 * Merge a child's outer points into the running frontier `dp` (child used or not),
 * keeping the Pareto points with amounts capped at `cap` and costs at most `bound`.
 * Ties (equal cost and amount) keep the first candidate: the child unused, then the
 * lowest (dp point, child point) pair, so the outcome is deterministic.
 */
export function mergeStep(dp: Points, child: Points, cap: number, bound: number, s: MergeScratch, limit?: ChildLimit): { points: Points; prev: Int32Array; q: Int32Array } {
  s.ensure(cap);
  const bestCost = s.bestCost;
  const bestI = s.bestI;
  const bestJ = s.bestJ;
  const touched = s.touched;
  let nt = 0;
  const dn = dp.n;
  const cn = child.n;
  const dc = dp.cost;
  const da = dp.amt;
  const cc = child.cost;
  const ca = child.amt;
  const unit = limit ? limit.unit : Infinity;
  const k = limit ? limit.k : Infinity;
  const put = (c: number, a: number, i: number, j: number): void => {
    const old = bestCost[a] as number;
    if (old === Infinity) touched[nt++] = a;
    if (c < old) {
      bestCost[a] = c;
      bestI[a] = i;
      bestJ[a] = j;
    }
  };
  for (let i = 0; i < dn; i++) {
    const c = dc[i] as number;
    if (c > bound) break;
    put(c, da[i] as number, i, -1);
  }
  for (let i = 0; i < dn; i++) {
    const c0 = dc[i] as number;
    if (c0 > bound) break;
    const a0 = da[i] as number;
    const used = limit ? Math.floor(c0 / unit) : 0;
    if (used >= k) continue;
    let j0 = 0;
    if (used === k - 1) {
      // Only a point that completes the need is worth anything: the cheapest such.
      let lo = 0;
      let hi = cn;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (a0 + (ca[mid] as number) >= cap) hi = mid;
        else lo = mid + 1;
      }
      if (lo >= cn) continue;
      j0 = lo;
    }
    for (let j = j0; j < cn; j++) {
      const c = c0 + (cc[j] as number);
      if (c > bound) break;
      let a = a0 + (ca[j] as number);
      if (a > cap) a = cap;
      put(c, a, i, j);
      if (a === cap) break; // later child points only cost more for the same (capped) amount
    }
  }
  // Sweep amounts from high to low, keeping points strictly cheaper than any larger amount.
  const order = touched.subarray(0, nt);
  order.sort();
  const keep = s.ensureKeep(nt);
  let n = 0;
  let minSoFar = Infinity;
  for (let x = nt - 1; x >= 0; x--) {
    const a = order[x] as number;
    const c = bestCost[a] as number;
    if (c < minSoFar) {
      minSoFar = c;
      keep[n++] = a;
    }
  }
  const cost = new Float64Array(n);
  const amt = new Int32Array(n);
  const prev = new Int32Array(n);
  const q = new Int32Array(n);
  for (let x = 0; x < n; x++) {
    const a = keep[n - 1 - x] as number;
    cost[x] = bestCost[a] as number;
    amt[x] = a;
    prev[x] = bestI[a] as number;
    q[x] = bestJ[a] as number;
  }
  for (let x = 0; x < nt; x++) bestCost[order[x] as number] = Infinity;
  if (limit) {
    // Drop combinations that use all k children without holding the need.
    let m = 0;
    for (let x = 0; x < n; x++) {
      if (Math.floor((cost[x] as number) / unit) >= k && (amt[x] as number) < cap) continue;
      cost[m] = cost[x] as number;
      amt[m] = amt[x] as number;
      prev[m] = prev[x] as number;
      q[m] = q[x] as number;
      m++;
    }
    if (m < n) return { points: { n: m, cost: cost.subarray(0, m), amt: amt.subarray(0, m) }, prev: prev.subarray(0, m), q: q.subarray(0, m) };
  }
  return { points: { n, cost, amt }, prev, q };
}

/**
 * Closed-form frontier for children that each offer one point of the same cost:
 * t children cost t * unitCost and hold the t largest amounts.
 */
export function leafPoints(amounts: Int32Array, count: number, unitCost: number, cap: number, bound: number, s: MergeScratch): Points {
  const buf = s.ensureSort(count);
  for (let i = 0; i < count; i++) buf[i] = amounts[i] as number;
  const view = buf.subarray(0, count);
  view.sort();
  const cost: number[] = [];
  const amt: number[] = [];
  let sum = 0;
  for (let k = count - 1, t = 1; k >= 0; k--, t++) {
    const c = t * unitCost;
    if (c > bound) break;
    sum += view[k] as number;
    const a = sum > cap ? cap : sum;
    cost.push(c);
    amt.push(a);
    if (a >= cap) break;
  }
  return { n: cost.length, cost: Float64Array.from(cost), amt: Int32Array.from(amt) };
}
