/**
 * The placement engine: a pure function of (snapshot, request) -> placement or
 * counted reasons. No I/O, no clock, no randomness; ties break by tree order
 * (natural name order), so the same input always gives the same output.
 *
 * Objective, `pack` mode (gangs with a required or preferred level; inference replicas):
 *   (1) the lowest level whose single domain holds the whole gang (never above the
 *       required level; a preferred level is tried first and climbed one level at a time,
 *       which is the same as taking the lowest level that fits);
 *   (2) inside it, the fewest domains at each level below, coarsest level first;
 *   (3) the fewest nodes;
 *   (4) best fit: the domain of (1) with the fewest free GPUs; inside it, children are
 *       taken largest first except the last, which is the tightest that completes the
 *       gang (a swap that keeps (2)-(3) unchanged), keeping large free domains whole.
 * (1)-(3) are exact: the candidates of (1) are ranked by an exact knapsack over the
 * tree (frontier.ts). (4) is the heuristic just described.
 *
 * `fill` mode (unconstrained gangs, batch shards): top down from the required level
 * (or the root), step into the child with the fewest free GPUs that still holds the
 * whole gang (least free capacity first: fill the gaps, keep big domains whole);
 * where no child holds it alone, span the children by (2)-(3) exactly, as in `pack`.
 *
 * Units: below the slice level a domain's room is counted in ranks (floor(free GPUs /
 * gpusPerRank) per eligible node); at and above it in whole slices (floor(ranks /
 * slice size) per slice-level domain). A slice-level domain receives a multiple of the
 * slice size and ranks are numbered depth first, so every slice of consecutive ranks
 * sits inside one slice-level domain.
 *
 * Rank order: nodes in depth-first tree order, each node's ranks together, so a ring
 * over ranks crosses each level exactly as often as the domains it uses there (0 when
 * it uses one).
 *
 * About 820 lines, over the usual 400, on purpose: one Search holds the per-search state
 * (the capacity view, the workspace's typed arrays, the request's units and bounds) that
 * pack, fill, reconstruction and the per-level counts of "does not fit" all read. Split
 * into files, each part would take that state as a dozen parameters or a second object
 * mirroring it. The frontier knapsack (frontier.ts), the capacity view (capacity.ts), GPU
 * choice (gpus.ts), filters and text (explain.ts) already live apart.
 */
import { InternalError } from '../../shared/errors/index.js';
import type { ClusterSnapshot, TopologyTree } from '../topology/index.js';
import { naturalCompare } from '../topology/index.js';
import { defaultFilterRegistry, type FilterOutcome, type FilterRegistry } from './filters.js';
import { EMPTY_POINTS, MergeScratch, type ChildLimit, firstAtLeast, leafPoints, mergeStep, outerCostFor, type Frontier, type Points, type Step } from './frontier.js';
import { chooseGpus } from './gpus.js';
import { resolveRequest, type ResolvedRequest } from './request.js';
import { CapacityView, capacityView } from './capacity.js';
import type { GangRequest, Placement, PlacementResult, Reason } from './types.js';

export interface PlaceOptions {
  /** Node filters (default: schedulable, vendor, model glob, memory). */
  filters?: FilterRegistry;
  /** Only nodes with a 1 here (by node id) may take ranks, on top of the filters. */
  nodeMask?: Uint8Array;
  /** Reason counted for nodes the mask leaves out (default `excluded`). */
  maskReason?: string;
  /**
   * Count reasons when the gang does not fit (default true). A scheduling loop trying
   * many gangs can pass false and ask again, with reasons, for the ones it reports.
   */
  explain?: boolean;
}

interface Work {
  hasFit: Uint8Array[];
  assign: Int32Array;
  scratch: MergeScratch;
  buf: Int32Array;
}

const workspaces = new WeakMap<TopologyTree, Work>();

function workFor(tree: TopologyTree): Work {
  let w = workspaces.get(tree);
  if (!w) {
    w = {
      hasFit: tree.levels.map((_, l) => new Uint8Array(tree.domainCount[l] ?? 0)),
      assign: new Int32Array(tree.nodeCount),
      scratch: new MergeScratch(),
      buf: new Int32Array(Math.max(16, ...tree.domainCount)),
    };
    workspaces.set(tree, w);
  }
  return w;
}

/** An internal outcome: the placement and its objective key (smaller is better). */
interface Outcome {
  placement: Placement;
  key: number[];
}

function compareKeys(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

class Search {
  readonly tree: TopologyTree;
  readonly W: Float64Array;
  readonly R: number;
  readonly g: number;
  readonly S: number;
  readonly Ls: number;
  readonly M: number;
  readonly cap: number;
  readonly touchedNodes: number[] = [];

  readonly units: Int32Array[];
  readonly capN: Int32Array;

  constructor(
    readonly snap: ClusterSnapshot,
    readonly rr: ResolvedRequest,
    readonly view: CapacityView,
    readonly w: Work,
  ) {
    this.units = view.units;
    this.capN = view.capN;
    this.tree = snap.tree;
    this.W = this.tree.weight;
    this.R = rr.ranks;
    this.g = rr.gpusPerRank;
    this.S = rr.sliceSize;
    this.Ls = rr.sliceLevel;
    this.M = rr.slices;
    this.cap = rr.capLevel;
  }

  /** Units a level-l domain must hold for the whole gang, in its own (outer) units. */
  need(l: number): number {
    return l >= this.Ls ? this.M : this.R;
  }

  /** Units needed inside a level-l domain, in its children's units. */
  innerNeed(l: number): number {
    return l <= this.Ls ? this.R : this.M;
  }

  /** A child's outer units -> its inner units. */
  toInner(level: number, x: number): number {
    return level === this.Ls && this.Ls >= 1 ? x * this.S : x;
  }

  /** The largest room of any domain at a level (for reasons). */
  maxUnits(l: number): number {
    let max = 0;
    for (const v of this.units[l] as Int32Array) if (v > max) max = v;
    return max;
  }

  free(level: number, id: number): number {
    return (this.snap.domainFree[level] as Int32Array)[id] as number;
  }

  /** Fewest children of (l, d) whose units add up to the inner need (largest first). */
  minChildren(l: number, d: number): number {
    const tree = this.tree;
    const s = (tree.childStart[l] as Int32Array)[d] as number;
    const e = (tree.childEnd[l] as Int32Array)[d] as number;
    const units = this.units[l - 1] as Int32Array;
    const buf = this.w.buf;
    let k = 0;
    for (let c = s; c < e; c++) {
      const v = units[c] as number;
      if (v > 0) buf[k++] = v;
    }
    const view = buf.subarray(0, k);
    view.sort();
    const need = this.innerNeed(l);
    let sum = 0;
    for (let i = k - 1, t = 1; i >= 0; i--, t++) {
      sum += view[i] as number;
      if (sum >= need) return t;
    }
    return Infinity;
  }

  /** Fewest level-`l` domains under (top, d) whose room adds up to the need (largest first). */
  minDomains(top: number, d: number, l: number): number {
    const tree = this.tree;
    let lo = d;
    let hi = d + 1;
    for (let k = top; k > l; k--) {
      lo = (tree.childStart[k] as Int32Array)[lo] as number;
      hi = (tree.childEnd[k] as Int32Array)[hi - 1] as number;
    }
    const units = this.units[l] as Int32Array;
    const buf = this.w.buf;
    let n = 0;
    for (let c = lo; c < hi; c++) {
      const v = units[c] as number;
      if (v > 0) buf[n++] = v;
    }
    const view = buf.subarray(0, n);
    view.sort();
    const need = this.need(l);
    let sum = 0;
    for (let i = n - 1, t = 1; i >= 0; i--, t++) {
      sum += view[i] as number;
      if (sum >= need) return t;
    }
    return Infinity;
  }

  /**
   * A lower bound on the cost of placing the gang inside (l, d): at every level below,
   * the fewest domains that could hold it, ignoring how they group. Actual counts are at
   * least these level by level, so the bound is below the cost in lexicographic order too.
   */
  lowerBound(l: number, d: number): number {
    let lb = 0;
    for (let k = l - 1; k >= 0; k--) lb += this.minDomains(l, d, k) * (this.W[k] as number);
    return lb;
  }

  frontier(l: number, d: number, bound: number, limit?: ChildLimit): Frontier | null {
    const { tree, w, W } = this;
    const cap = this.innerNeed(l);
    const s = (tree.childStart[l] as Int32Array)[d] as number;
    const e = (tree.childEnd[l] as Int32Array)[d] as number;
    const below = this.units[l - 1] as Int32Array;
    let inner: Points;
    let kind: Frontier['kind'] = 'leaves';
    let leafIds = new Int32Array(0);
    let leafAmt = new Int32Array(0);
    let leafCost = 0;
    let leafChildren: Frontier[] | null = null;
    const steps: Step[] = [];
    if (l === 1) {
      let k = 0;
      for (let c = s; c < e; c++) if ((below[c] as number) > 0) k++;
      if (k === 0) return null;
      leafIds = new Int32Array(k);
      leafAmt = new Int32Array(k);
      k = 0;
      for (let c = s; c < e; c++) {
        const v = below[c] as number;
        if (v > 0) {
          leafIds[k] = c;
          leafAmt[k] = v;
          k++;
        }
      }
      leafCost = W[0] as number;
      inner = leafPoints(leafAmt, k, leafCost, cap, bound, w.scratch);
    } else {
      const kids: Frontier[] = [];
      for (let c = s; c < e; c++) {
        if ((below[c] as number) <= 0) continue;
        const f = this.frontier(l - 1, c, bound);
        if (f && f.outer.n > 0) kids.push(f);
      }
      if (kids.length === 0) return null;
      const first = kids[0] as Frontier;
      const c0 = first.outer.cost[0] as number;
      if (kids.every((f) => f.outer.n === 1 && f.outer.cost[0] === c0)) {
        leafIds = Int32Array.from(kids.map((f) => f.id));
        leafAmt = Int32Array.from(kids.map((f) => f.outer.amt[0] as number));
        leafCost = c0;
        leafChildren = kids;
        inner = leafPoints(leafAmt, kids.length, leafCost, cap, bound, w.scratch);
      } else {
        kind = 'steps';
        let dp: Points = { n: 1, cost: new Float64Array(1), amt: new Int32Array(1) };
        for (const f of kids) {
          const r = mergeStep(dp, f.outer, cap, bound, w.scratch, limit);
          steps.push({ child: f, prev: r.prev, q: r.q });
          dp = r.points;
        }
        inner = dp;
      }
    }
    // Outer points: own weight added; at the slice level, ranks become whole slices.
    const conv = l === this.Ls && this.Ls >= 1 ? this.S : 1;
    const own = W[l] as number;
    const oc = new Float64Array(inner.n);
    const oa = new Int32Array(inner.n);
    const oi = new Int32Array(inner.n);
    let m = 0;
    let last = 0;
    for (let i = 0; i < inner.n; i++) {
      const raw = inner.amt[i] as number;
      const a = conv > 1 ? (raw / conv) | 0 : raw;
      if (a <= last) continue;
      const c = (inner.cost[i] as number) + own;
      if (c > bound) break;
      oc[m] = c;
      oa[m] = a;
      oi[m] = i;
      m++;
      last = a;
    }
    const outer: Points = m ? { n: m, cost: oc.subarray(0, m), amt: oa.subarray(0, m) } : EMPTY_POINTS;
    return { level: l, id: d, inner, outer, outerToInner: oi.subarray(0, m), kind, leafIds, leafAmt, leafCost, leafChildren, steps };
  }

  assignNode(n: number, units: number): void {
    const ranks = this.Ls === 0 && this.S > 1 ? units * this.S : units;
    const a = this.w.assign;
    if ((a[n] as number) === 0) this.touchedNodes.push(n);
    a[n] = (a[n] as number) + ranks;
  }

  /** Split `r` over children offering `amts` (largest first): fill each, the last takes the rest. */
  private distribute(amts: number[], r: number): number[] {
    const t = amts.length;
    const out: number[] = [];
    let rem = r;
    for (let k = 0; k < t; k++) {
      const after = t - 1 - k;
      const x = Math.max(0, Math.min(amts[k] as number, rem - after));
      out.push(x);
      rem -= x;
    }
    if (rem !== 0) throw new InternalError(`placement reconstruction left ${rem} units unplaced`);
    return out;
  }

  /** Place `r` inner units inside the frontier's domain, realizing its cheapest point. */
  assign(f: Frontier, r: number): void {
    const i = firstAtLeast(f.inner, r);
    if (i < 0) throw new InternalError(`domain ${this.tree.domainName(f.level, f.id)} cannot hold ${r} units`);
    const childLevel = f.level - 1;
    if (f.kind === 'leaves') {
      const t = i + 1;
      const k = f.leafIds.length;
      const idx: number[] = [];
      for (let x = 0; x < k; x++) idx.push(x);
      const freeOf = (x: number): number => this.free(childLevel, f.leafIds[x] as number);
      idx.sort((a, b) => (f.leafAmt[b] as number) - (f.leafAmt[a] as number) || freeOf(a) - freeOf(b) || (f.leafIds[a] as number) - (f.leafIds[b] as number));
      const chosen = idx.slice(0, t);
      const rest = idx.slice(t);
      const amounts = this.distribute(
        chosen.map((x) => f.leafAmt[x] as number),
        r,
      );
      // Best fit: swap a chosen child for a tighter unchosen one that holds its share.
      for (let c = t - 1; c >= 0; c--) {
        const x = amounts[c] as number;
        const cur = chosen[c] as number;
        let best = -1;
        for (let j = 0; j < rest.length; j++) {
          const cand = rest[j] as number;
          if ((f.leafAmt[cand] as number) < x) continue;
          if (best < 0 || freeOf(cand) < freeOf(rest[best] as number) || (freeOf(cand) === freeOf(rest[best] as number) && (f.leafIds[cand] as number) < (f.leafIds[rest[best] as number] as number))) best = j;
        }
        if (best >= 0 && freeOf(rest[best] as number) < freeOf(cur)) {
          chosen[c] = rest[best] as number;
          rest[best] = cur;
        }
      }
      for (let c = 0; c < t; c++) {
        const x = amounts[c] as number;
        if (x === 0) continue;
        const leaf = chosen[c] as number;
        if (f.level === 1) this.assignNode(f.leafIds[leaf] as number, x);
        else {
          const child = (f.leafChildren as Frontier[])[leaf] as Frontier;
          this.assign(child, this.toInner(childLevel, x));
        }
      }
      return;
    }
    // Knapsack steps: walk back to the children used and their points.
    const chosen: { f: Frontier; amt: number }[] = [];
    let p = i;
    for (let s = f.steps.length - 1; s >= 0; s--) {
      const st = f.steps[s] as Step;
      const q = st.q[p] as number;
      if (q >= 0) chosen.push({ f: st.child, amt: st.child.outer.amt[q] as number });
      p = st.prev[p] as number;
    }
    chosen.sort((a, b) => b.amt - a.amt || this.free(childLevel, a.f.id) - this.free(childLevel, b.f.id) || a.f.id - b.f.id);
    const amounts = this.distribute(
      chosen.map((c) => c.amt),
      r,
    );
    const used = new Set(chosen.map((c) => c.f));
    const siblings = f.steps.map((s) => s.child).filter((c) => !used.has(c));
    for (let c = chosen.length - 1; c >= 0; c--) {
      const x = amounts[c] as number;
      const cur = (chosen[c] as { f: Frontier }).f;
      const cost = outerCostFor(cur, x);
      let best = -1;
      for (let j = 0; j < siblings.length; j++) {
        const sib = siblings[j] as Frontier;
        if (outerCostFor(sib, x) !== cost) continue;
        const fs = this.free(childLevel, sib.id);
        if (best < 0) best = j;
        else {
          const fb = this.free(childLevel, (siblings[best] as Frontier).id);
          if (fs < fb || (fs === fb && sib.id < (siblings[best] as Frontier).id)) best = j;
        }
      }
      if (best >= 0 && this.free(childLevel, (siblings[best] as Frontier).id) < this.free(childLevel, cur.id)) {
        (chosen[c] as { f: Frontier }).f = siblings[best] as Frontier;
        siblings[best] = cur;
      }
    }
    for (let c = 0; c < chosen.length; c++) {
      const x = amounts[c] as number;
      if (x === 0) continue;
      const child = (chosen[c] as { f: Frontier }).f;
      this.assign(child, this.toInner(childLevel, x));
    }
  }

  /**
   * Best fit (objective 4) between two domains of one level: fewer free GPUs first (the
   * tightest fit), then the fuller enclosing domains, nearest first (a rack's job goes to
   * the fullest leaf, so whole free leaves stay whole), then tree order.
   */
  tighter(l: number, a: number, b: number): number {
    const df = this.snap.domainFree;
    const fa = (df[l] as Int32Array)[a] as number;
    const fb = (df[l] as Int32Array)[b] as number;
    if (fa !== fb) return fa - fb;
    return this.ancestorsTighter(l, a, b);
  }

  /** Compare the enclosing domains of two level-l domains, nearest first. */
  ancestorsTighter(l: number, a: number, b: number): number {
    const tree = this.tree;
    const df = this.snap.domainFree;
    let x = a;
    let y = b;
    for (let k = l + 1; k < tree.top; k++) {
      x = (tree.parent[k - 1] as Int32Array)[x] as number;
      y = (tree.parent[k - 1] as Int32Array)[y] as number;
      if (x === y) break;
      const fx = (df[k] as Int32Array)[x] as number;
      const fy = (df[k] as Int32Array)[y] as number;
      if (fx !== fy) return fx - fy;
    }
    return a - b;
  }

  /** The tie-break part of a key: free GPUs of the domain and of its ancestors (nearest first), then its id. */
  tightKey(l: number, d: number): number[] {
    const tree = this.tree;
    const out: number[] = [];
    let x = d;
    for (let k = l; k < tree.top; k++) {
      out.push((this.snap.domainFree[k] as Int32Array)[x] as number);
      x = (tree.parent[k] as Int32Array)[x] as number;
    }
    out.push(d);
    return out;
  }

  /** The best-fit node that holds the whole gang alone, or -1. */
  bestNode(): number {
    const { tree, view } = this;
    const T = this.R * this.g;
    const bins = view.bins;
    if (T >= bins) return -1;
    const root = view.hist[tree.top] as Int32Array;
    let b = -1;
    for (let f = T; f < bins; f++) {
      if ((root[f] as number) > 0) {
        b = f;
        break;
      }
    }
    if (b < 0) return -1;
    // All candidates have b free GPUs: the tightest level-1 domain holding one (fewest
    // free, then fuller ancestors), then its first such node.
    const h1 = view.hist[1] as Int32Array;
    let best = -1;
    for (let d = 0; d < (tree.domainCount[1] as number); d++) {
      if ((h1[d * bins + b] as number) > 0 && (best < 0 || this.tighter(1, d, best) < 0)) best = d;
    }
    const s = (tree.nodeStart[1] as Int32Array)[best] as number;
    const e = (tree.nodeEnd[1] as Int32Array)[best] as number;
    const free = this.snap.nodeFree;
    const mask = view.mask;
    for (let n = s; n < e; n++) if (mask[n] === 1 && free[n] === b) return n;
    throw new InternalError('node free-GPU counts out of step with the snapshot');
  }

  pack(): Outcome | null {
    const tree = this.tree;
    // (1): the lowest level with a domain that holds the whole gang. At the node level:
    // a node holds it iff it has ranks × gpusPerRank free GPUs; the best fit is the node
    // with the fewest such, then the fullest parent (and so on up), then tree order.
    const bestNode = this.bestNode();
    if (bestNode >= 0) {
      this.assignNode(bestNode, this.need(0));
      return this.finish([0, 0, ...this.tightKey(0, bestNode)]);
    }
    let lambda = -1;
    const cands: number[] = [];
    for (let l = 1; l <= this.cap && lambda < 0; l++) {
      const units = this.units[l] as Int32Array;
      const need = this.need(l);
      for (let d = 0; d < units.length; d++) if ((units[d] as number) >= need) cands.push(d);
      if (cands.length) lambda = l;
    }
    if (lambda < 0) return null;
    // (2)-(3): rank the candidates exactly, in order of a lower bound (then tightest first);
    // a candidate whose bound is above the best cost found cannot win, nor can one whose
    // bound equals it without being tighter (ties go to the tighter domain, objective 4).
    const lbs = new Map<number, number>();
    for (const d of cands) lbs.set(d, this.lowerBound(lambda, d));
    cands.sort((a, b) => (lbs.get(a) as number) - (lbs.get(b) as number) || this.tighter(lambda, a, b));
    let bestCost = Infinity;
    let bestF: Frontier | null = null;
    const lw = this.W[lambda - 1] as number;
    for (const d of cands) {
      const lb = lbs.get(d) as number;
      if (lb > bestCost) break;
      const wins = bestF === null || this.tighter(lambda, d, bestF.id) < 0;
      if (lb === bestCost && !wins) continue;
      const k = this.minChildren(lambda, d);
      const bound = Math.min(bestCost + (wins ? 0.5 : -0.5), (k + 1) * lw - 0.5);
      const f = this.frontier(lambda, d, bound, { unit: lw, k });
      if (!f) continue;
      const i = firstAtLeast(f.inner, this.innerNeed(lambda));
      if (i < 0) continue;
      const c = f.inner.cost[i] as number;
      if (c < bestCost || (c === bestCost && wins)) {
        bestCost = c;
        bestF = f;
      }
    }
    if (!bestF) throw new InternalError(`no ${tree.levels[lambda]} domain could be ranked although one fits`);
    this.assign(bestF, this.innerNeed(lambda));
    return this.finish([lambda, bestCost, ...this.tightKey(lambda, bestF.id)]);
  }

  fill(): Outcome | null {
    const { tree, w } = this;
    const top = tree.top;
    const cap = this.cap;
    if (cap < top) {
      const base = w.hasFit[cap] as Uint8Array;
      const u = this.units[cap] as Int32Array;
      const need = this.need(cap);
      for (let d = 0; d < u.length; d++) base[d] = (u[d] as number) >= need ? 1 : 0;
      for (let l = cap + 1; l <= top; l++) {
        const arr = w.hasFit[l] as Uint8Array;
        arr.fill(0);
        const below = w.hasFit[l - 1] as Uint8Array;
        const parent = tree.parent[l - 1] as Int32Array;
        for (let c = 0; c < below.length; c++) if (below[c] === 1) arr[parent[c] as number] = 1;
      }
      if ((w.hasFit[top] as Uint8Array)[0] !== 1) return null;
    } else if (((this.units[top] as Int32Array)[0] as number) < this.need(top)) return null;
    const key: number[] = [];
    let l = top;
    let d = 0;
    while (l > 0) {
      const cs = (tree.childStart[l] as Int32Array)[d] as number;
      const ce = (tree.childEnd[l] as Int32Array)[d] as number;
      const cl = l - 1;
      const units = this.units[cl] as Int32Array;
      const need = this.need(cl);
      const fit = w.hasFit[cl] as Uint8Array;
      const free = this.snap.domainFree[cl] as Int32Array;
      let best = -1;
      for (let c = cs; c < ce; c++) {
        if ((units[c] as number) < need) continue;
        if (cl > cap && fit[c] !== 1) continue;
        if (best < 0 || (free[c] as number) < (free[best] as number)) best = c;
      }
      if (best >= 0) {
        key.push(0, free[best] as number, best);
        l = cl;
        d = best;
        continue;
      }
      const k = this.minChildren(l, d);
      const lw = this.W[l - 1] as number;
      const f = this.frontier(l, d, (k + 1) * lw - 0.5, { unit: lw, k });
      const i = f ? firstAtLeast(f.inner, this.innerNeed(l)) : -1;
      if (!f || i < 0) throw new InternalError(`${tree.levels[l]} ${tree.domainName(l, d)} holds the gang but cannot be ranked`);
      key.push(1, f.inner.cost[i] as number);
      this.assign(f, this.innerNeed(l));
      return this.finish(key);
    }
    this.assignNode(d, this.need(0));
    return this.finish(key);
  }

  run(): Outcome | null {
    return this.rr.mode === 'pack' ? this.pack() : this.fill();
  }

  /** Rank order, GPU choice and the reported figures; clears the scratch assignment. */
  finish(key: number[]): Outcome {
    const { tree, snap, w, g } = this;
    const nodes = this.touchedNodes.sort((a, b) => a - b);
    const ranks: Placement['ranks'] = [];
    let total = 0;
    for (const n of nodes) {
      const x = w.assign[n] as number;
      w.assign[n] = 0;
      if (x > (this.capN[n] as number)) throw new InternalError(`node ${tree.nodeName(n)} given ${x} ranks, room for ${this.capN[n]}`);
      total += x;
      const picks = chooseGpus(snap.freeGpus(n), tree.linkGroups[n] ?? [], x, g);
      for (const gpus of picks) ranks.push({ rank: ranks.length, node: tree.nodeName(n), nodeId: n, gpus });
    }
    this.touchedNodes.length = 0;
    if (total !== this.R) throw new InternalError(`placed ${total} ranks of ${this.R}`);
    return { placement: describePlacement(snap, this.rr.mode, ranks, g), key };
  }
}

/** Domains used, ring crossings, the objective's level and counts, for ranks in order. */
export function describePlacement(snap: ClusterSnapshot, mode: Placement['mode'], ranks: Placement['ranks'], gpusPerRank: number): Placement {
  const tree = snap.tree;
  const R = ranks.length;
  const domainsUsed: Placement['domainsUsed'] = [];
  const ringCrossings: Placement['ringCrossings'] = [];
  const usedIds: number[][] = [];
  for (let l = 0; l <= tree.top; l++) {
    const anc = tree.ancestor[l] as Int32Array;
    const ids: number[] = [];
    const seen = new Set<number>();
    let crossings = 0;
    for (let i = 0; i < R; i++) {
      const a = anc[(ranks[i] as Placement['ranks'][number]).nodeId] as number;
      const b = anc[(ranks[(i + 1) % R] as Placement['ranks'][number]).nodeId] as number;
      if (a !== b) crossings++;
      if (!seen.has(a)) {
        seen.add(a);
        ids.push(a);
      }
    }
    usedIds.push(ids);
    if (l < tree.top) {
      domainsUsed.push({ level: tree.levels[l] as string, names: ids.map((d) => tree.domainName(l, d)) });
      ringCrossings.push({ level: tree.levels[l] as string, count: crossings });
    }
  }
  let lambda = 0;
  while (lambda < tree.top && (usedIds[lambda] as number[]).length > 1) lambda++;
  const counts: Placement['counts'] = [];
  let freeLeft = 0;
  for (let l = lambda - 1; l >= 0; l--) {
    const ids = usedIds[l] as number[];
    counts.push({ level: tree.levels[l] as string, count: ids.length });
    const free = snap.domainFree[l] as Int32Array;
    for (const d of ids) freeLeft += free[d] as number;
    freeLeft -= R * gpusPerRank;
  }
  return {
    mode,
    level: tree.levels[lambda] as string,
    domain: tree.domainName(lambda, (usedIds[lambda] as number[])[0] as number),
    ranks,
    domainsUsed,
    ringCrossings,
    counts,
    freeGpusLeft: freeLeft,
  };
}

function andMask(a: Uint8Array, b: Uint8Array | undefined): Uint8Array {
  if (!b) return a;
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] === 1 && b[i] === 1 ? 1 : 0;
  return out;
}

function firmwareKey(tree: TopologyTree, n: number): string {
  return `${tree.driver[n] ?? ''}\u0000${tree.cuda[n] ?? ''}`;
}

function viewFor(snapshot: ClusterSnapshot, rr: ResolvedRequest, filters: FilterOutcome, extraMask: Uint8Array | undefined): CapacityView {
  const shape = { gpusPerRank: rr.gpusPerRank, sliceSize: rr.sliceSize, sliceLevel: rr.sliceLevel };
  // Views are cached per snapshot for the filters' own mask; an extra mask gets a one-off view.
  if (!extraMask) return capacityView(snapshot, filters.key, filters.mask, shape);
  return new CapacityView(snapshot, andMask(filters.mask, extraMask), shape);
}

function firmwareGroups(tree: TopologyTree, mask: Uint8Array): Map<string, Uint8Array> {
  const groups = new Map<string, Uint8Array>();
  for (let n = 0; n < tree.nodeCount; n++) {
    if (mask[n] !== 1) continue;
    const k = firmwareKey(tree, n);
    let m = groups.get(k);
    if (!m) groups.set(k, (m = new Uint8Array(tree.nodeCount)));
    m[n] = 1;
  }
  return new Map([...groups].sort((a, b) => naturalCompare(a[0], b[0])));
}

function searchMasked(snapshot: ClusterSnapshot, rr: ResolvedRequest, filters: FilterOutcome, nodeMask: Uint8Array | undefined): Outcome | null {
  const tree = snapshot.tree;
  const w = workFor(tree);
  if (!rr.request.sameFirmware) return new Search(snapshot, rr, viewFor(snapshot, rr, filters, nodeMask), w).run();
  // Same driver and CUDA across the gang: the best placement over firmware groups.
  const shape = { gpusPerRank: rr.gpusPerRank, sliceSize: rr.sliceSize, sliceLevel: rr.sliceLevel };
  let best: Outcome | null = null;
  for (const m of firmwareGroups(tree, andMask(filters.mask, nodeMask)).values()) {
    const out = new Search(snapshot, rr, new CapacityView(snapshot, m, shape), w).run();
    if (out && (!best || compareKeys(out.key, best.key) < 0)) best = out;
  }
  return best;
}

/** The mask of nodes outside degraded domains (and inside the caller's mask), or null when none is degraded. */
function healthyMask(snapshot: ClusterSnapshot, options: PlaceOptions): Uint8Array | null {
  const h = snapshot.healthyNodes;
  if (!h || snapshot.degradedMode === 'ignore') return null;
  return options.nodeMask ? andMask(h, options.nodeMask) : h;
}

/** Whether placement `a` is worse than `b` by objectives (1)-(3): a coarser level, then more domains per level, coarsest first. */
function worseByObjective(tree: TopologyTree, a: Placement, b: Placement): boolean {
  const la = tree.levelIndex(a.level);
  const lb = tree.levelIndex(b.level);
  if (la !== lb) return la > lb;
  for (let i = 0; i < Math.min(a.counts.length, b.counts.length); i++) {
    const d = (a.counts[i] as { count: number }).count - (b.counts[i] as { count: number }).count;
    if (d !== 0) return d > 0;
  }
  return false;
}

/**
 * Degraded domains (snapshot.markDegraded): in `exclude` mode their nodes are masked out; in `avoid`
 * mode the healthy nodes' best placement wins unless it is worse by (1)-(3) than the best over all
 * nodes, i.e. degradation ranks between objectives (3) and (4).
 */
function search(snapshot: ClusterSnapshot, rr: ResolvedRequest, filters: FilterOutcome, options: PlaceOptions): Outcome | null {
  const healthy = healthyMask(snapshot, options);
  if (!healthy) return searchMasked(snapshot, rr, filters, options.nodeMask);
  if (snapshot.degradedMode === 'exclude') return searchMasked(snapshot, rr, filters, healthy);
  const all = searchMasked(snapshot, rr, filters, options.nodeMask);
  if (!all) return null;
  const h = searchMasked(snapshot, rr, filters, healthy);
  return h && !worseByObjective(snapshot.tree, h.placement, all.placement) ? h : all;
}

/**
 * Place one gang. Returns the placement (not reserved: call snapshot.reserve on it to
 * keep it) or "does not fit" with counted reasons. Throws InvalidArgumentError, naming
 * the job spec field, for a request the tree cannot express (unknown level, slice
 * size not dividing ranks, preferred coarser than required, ...).
 */
export function place(snapshot: ClusterSnapshot, request: GangRequest, options: PlaceOptions = {}): PlacementResult {
  const rr = resolveRequest(snapshot.tree, request);
  const filters = (options.filters ?? defaultFilterRegistry).evaluate(snapshot, request);
  const out = search(snapshot, rr, filters, options);
  if (out) return { fits: true, placement: out.placement, request: rr.summary };
  if (options.explain === false) return { fits: false, reasons: [], request: rr.summary };
  // Under hard exclusion, nodes of degraded domains are counted as such.
  const healthy = snapshot.degradedMode === 'exclude' ? healthyMask(snapshot, options) : null;
  const why = healthy ? { ...options, nodeMask: healthy, maskReason: options.nodeMask ? (options.maskReason ?? 'excluded') : 'in a degraded domain' } : options;
  return { fits: false, reasons: explainNoFit(snapshot, rr, filters, why), request: rr.summary };
}

/**
 * The objective key of the engine's choice, smaller is better (for tests and tools
 * comparing placements). pack: [level, exact domain-count cost, free GPUs of the chosen
 * domain and its ancestors, its id]; fill: per level from the top, (0, free, id) while
 * one child holds the gang, then (1, cost).
 */
export function placementKey(snapshot: ClusterSnapshot, request: GangRequest, options: PlaceOptions = {}): number[] | null {
  const rr = resolveRequest(snapshot.tree, request);
  const filters = (options.filters ?? defaultFilterRegistry).evaluate(snapshot, request);
  return search(snapshot, rr, filters, options)?.key ?? null;
}

function unitsText(rr: ResolvedRequest, l: number): string {
  const per = `${rr.gpusPerRank} GPU${rr.gpusPerRank === 1 ? '' : 's'}`;
  if (l >= rr.sliceLevel && rr.sliceSize > 1) return `${rr.slices} slices of ${rr.sliceSize} ranks × ${per}`;
  return `${rr.ranks} rank${rr.ranks === 1 ? '' : 's'} × ${per}`;
}

/** Counted reasons, per node and per level, why the gang does not fit. */
function explainNoFit(snap: ClusterSnapshot, rr: ResolvedRequest, filters: FilterOutcome, options: PlaceOptions): Reason[] {
  const tree = snap.tree;
  const reasons: Reason[] = [];
  // Count per reason index: the filters' reasons, then three of the engine's own.
  const g = rr.gpusPerRank;
  const extra = options.nodeMask;
  const nf = filters.reasons.length;
  const tally = new Int32Array(nf + 3);
  const reasonOf = filters.reasonOf;
  const gpuCount = tree.gpuCount;
  const nodeFree = snap.nodeFree;
  for (let n = 0; n < tree.nodeCount; n++) {
    const r = reasonOf[n] as number;
    if (r >= 0) tally[r] = (tally[r] as number) + 1;
    else if (extra && extra[n] !== 1) tally[nf] = (tally[nf] as number) + 1;
    else if ((gpuCount[n] as number) < g) tally[nf + 1] = (tally[nf + 1] as number) + 1;
    else if ((nodeFree[n] as number) < g) tally[nf + 2] = (tally[nf + 2] as number) + 1;
  }
  const names = [...filters.reasons, options.maskReason ?? 'excluded', `has fewer than ${g} GPUs`, g === 1 ? 'no free healthy GPU' : `fewer than ${g} free healthy GPUs`];
  const counts = new Map<string, number>();
  names.forEach((name, i) => {
    if ((tally[i] as number) > 0) counts.set(name, (counts.get(name) ?? 0) + (tally[i] as number));
  });
  for (const [reason, count] of counts) reasons.push({ level: 'node', reason, count });
  reasons.sort((a, b) => b.count - a.count || naturalCompare(a.reason, b.reason));
  // Per level: how close the roomiest domain comes.
  const s = new Search(snap, rr, viewFor(snap, rr, filters, options.nodeMask), workFor(tree));
  const unit = (l: number, n: number): string => `${l >= rr.sliceLevel && rr.sliceSize > 1 ? 'slice' : 'rank'}${n === 1 ? '' : 's'}`;
  for (let l = 0; l <= rr.capLevel; l++) {
    const most = s.maxUnits(l);
    const need = s.need(l);
    if (most >= need) continue;
    const level = tree.levels[l] as string;
    const reason = l === tree.top ? `room for ${most} of ${need} ${unit(l, need)} (${unitsText(rr, l)})` : `none holds ${unitsText(rr, l)} (most: ${most} ${unit(l, most)})`;
    reasons.push({ level, reason, count: tree.domainCount[l] as number });
  }
  for (let l = rr.capLevel + 1; l <= tree.top; l++) {
    if (s.maxUnits(l) >= s.need(l)) {
      const req = tree.levels[rr.capLevel] as string;
      const where = l === tree.top ? 'in the cluster' : `in one ${tree.levels[l]}`;
      reasons.push({ level: tree.levels[l] as string, reason: `topology.required is ${req}: it would fit only across several ${req} domains (${where})`, count: 1 });
      break;
    }
  }
  if (rr.request.sameFirmware && reasons.every((r) => r.level === 'node')) {
    const groups = firmwareGroups(tree, andMask(filters.mask, options.nodeMask)).size;
    reasons.push({ level: tree.levels[tree.top] as string, reason: `sameFirmware: fits only across different driver/CUDA versions (${groups} groups)`, count: groups });
  }
  return reasons;
}
