/**
 * Room per domain for one request shape (GPUs per rank, slice size and level, node
 * filter): ranks per eligible node (floor(free GPUs / gpusPerRank)), summed up the
 * tree in ranks below the slice level and in whole slices at and above it.
 *
 * A view is built once per snapshot and shape (O(nodes + domains)) and then kept
 * current from the snapshot's change log: each reserve/release costs the view
 * O(changed nodes × levels), so placing many gangs of the same shape on one snapshot
 * never recomputes the whole tree.
 */
import type { ClusterSnapshot, TopologyTree } from '../topology/index.js';

export interface ViewShape {
  gpusPerRank: number;
  sliceSize: number;
  sliceLevel: number;
}

export class CapacityView {
  readonly tree: TopologyTree;
  /** Ranks each node can take (0 where filtered out). */
  readonly capN: Int32Array;
  /** Room per level and domain: ranks below the slice level, slices at and above it. */
  readonly units: Int32Array[];
  /** At the slice level (when it is above the node): ranks per domain before flooring to slices. */
  readonly rankSum: Int32Array;
  /**
   * For levels >= 1: how many eligible nodes below each domain have each free-GPU count,
   * at hist[level][domain * bins + free]. Finds the best-fit single node without a scan.
   */
  readonly hist: Int32Array[];
  readonly bins: number;
  /** Free GPUs each eligible node was counted with in `hist` (-1: not counted). */
  private readonly counted: Int32Array;
  private logPos = 0;

  constructor(
    readonly snap: ClusterSnapshot,
    readonly mask: Uint8Array,
    readonly shape: ViewShape,
  ) {
    const tree = snap.tree;
    this.tree = tree;
    this.capN = new Int32Array(tree.nodeCount);
    this.units = tree.levels.map((_, l) => new Int32Array(tree.domainCount[l] ?? 0));
    this.rankSum = new Int32Array(shape.sliceLevel >= 1 ? (tree.domainCount[shape.sliceLevel] ?? 0) : 0);
    this.bins = tree.maxGpusPerNode + 1;
    this.hist = tree.levels.map((_, l) => new Int32Array(l === 0 ? 0 : (tree.domainCount[l] ?? 0) * this.bins));
    this.counted = new Int32Array(tree.nodeCount);
    this.rebuild();
  }

  /** Recompute everything from the snapshot. */
  rebuild(): void {
    const { tree, snap, mask } = this;
    const { gpusPerRank: g, sliceSize: S, sliceLevel: Ls } = this.shape;
    const n = tree.nodeCount;
    const free = snap.nodeFree;
    const capN = this.capN;
    const u0 = this.units[0] as Int32Array;
    const bins = this.bins;
    for (let l = 1; l <= tree.top; l++) (this.hist[l] as Int32Array).fill(0);
    for (let i = 0; i < n; i++) {
      const c = mask[i] === 1 ? ((free[i] as number) / g) | 0 : 0;
      capN[i] = c;
      u0[i] = Ls === 0 && S > 1 ? (c / S) | 0 : c;
      if (mask[i] === 1) {
        const f = free[i] as number;
        this.counted[i] = f;
        for (let l = 1; l <= tree.top; l++) {
          const h = this.hist[l] as Int32Array;
          const k = ((tree.ancestor[l] as Int32Array)[i] as number) * bins + f;
          h[k] = (h[k] as number) + 1;
        }
      } else this.counted[i] = -1;
    }
    for (let l = 1; l <= tree.top; l++) {
      const arr = this.units[l] as Int32Array;
      arr.fill(0);
      const below = this.units[l - 1] as Int32Array;
      const parent = tree.parent[l - 1] as Int32Array;
      for (let c = 0; c < below.length; c++) {
        const v = below[c] as number;
        if (v !== 0) {
          const p = parent[c] as number;
          arr[p] = (arr[p] as number) + v;
        }
      }
      if (l === Ls) {
        this.rankSum.set(arr);
        for (let d = 0; d < arr.length; d++) arr[d] = ((arr[d] as number) / S) | 0;
      }
    }
    this.logPos = snap.changeLog.length;
  }

  /** Catch up with reserve/release calls made on the snapshot since the last sync. */
  sync(): void {
    const log = this.snap.changeLog;
    const end = log.length;
    if (this.logPos === end) return;
    if (end - this.logPos > this.tree.nodeCount) {
      this.rebuild();
      return;
    }
    for (let i = this.logPos; i < end; i++) this.updateNode(log[i] as number);
    this.logPos = end;
  }

  private updateNode(n: number): void {
    const { tree } = this;
    const { gpusPerRank: g, sliceSize: S, sliceLevel: Ls } = this.shape;
    const was = this.counted[n] as number;
    if (was >= 0) {
      const f = this.snap.nodeFree[n] as number;
      if (f !== was) {
        const bins = this.bins;
        for (let l = 1; l <= tree.top; l++) {
          const h = this.hist[l] as Int32Array;
          const base = ((tree.ancestor[l] as Int32Array)[n] as number) * bins;
          h[base + was] = (h[base + was] as number) - 1;
          h[base + f] = (h[base + f] as number) + 1;
        }
        this.counted[n] = f;
      }
    }
    const c = this.mask[n] === 1 ? ((this.snap.nodeFree[n] as number) / g) | 0 : 0;
    const old = this.capN[n] as number;
    if (c === old) return;
    this.capN[n] = c;
    const dr = c - old; // change in ranks
    let du: number; // change in units at the current level
    const u0 = this.units[0] as Int32Array;
    if (Ls === 0 && S > 1) {
      const nu = (c / S) | 0;
      du = nu - (u0[n] as number);
      u0[n] = nu;
    } else {
      du = dr;
      u0[n] = c;
    }
    for (let l = 1; l <= tree.top; l++) {
      const d = (tree.ancestor[l] as Int32Array)[n] as number;
      const arr = this.units[l] as Int32Array;
      if (l === Ls) {
        const rs = (this.rankSum[d] as number) + dr;
        this.rankSum[d] = rs;
        const nu = (rs / S) | 0;
        du = nu - (arr[d] as number);
        arr[d] = nu;
      } else {
        arr[d] = (arr[d] as number) + du;
      }
      if (du === 0 && l >= Ls) return;
    }
  }
}

/** Views per snapshot and shape key (bounded; least recently built dropped first). */
const views = new WeakMap<ClusterSnapshot, Map<string, CapacityView>>();
const MAX_VIEWS = 32;

export function capacityView(snap: ClusterSnapshot, key: string, mask: Uint8Array, shape: ViewShape): CapacityView {
  let m = views.get(snap);
  if (!m) views.set(snap, (m = new Map()));
  const k = `${key}|${shape.gpusPerRank}|${shape.sliceSize}|${shape.sliceLevel}`;
  let v = m.get(k);
  if (v && v.mask === mask) {
    v.sync();
    return v;
  }
  v = new CapacityView(snap, mask, shape);
  if (m.size >= MAX_VIEWS) m.delete(m.keys().next().value as string);
  m.set(k, v);
  return v;
}
