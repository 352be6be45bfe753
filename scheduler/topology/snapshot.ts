/**
 * Per-cycle cluster state on a static tree: which GPUs are free, used or unhealthy,
 * which nodes take work, and free GPUs per domain, all in typed arrays indexed by
 * the tree's dense ids. Placing many gangs in one cycle is reserve()/release() on
 * the same snapshot: O(GPUs of the gang × levels) each, so a placement can be tried,
 * kept (commit: nothing to do) or rolled back (release) cheaply.
 */
import { FailedPreconditionError, InvalidArgumentError } from '../../shared/errors/index.js';
import type { TopologyTree } from './tree.js';

export const GPU_FREE = 0;
export const GPU_USED = 1;
export const GPU_UNHEALTHY = 2;

/** Why a node takes no new work this cycle (null: it does). */
export type UnusableReason = 'awaiting approval' | 'cordoned' | 'draining' | 'health fail' | 'lost';

/**
 * How placement treats nodes in degraded domains (east-west latency stands out from their
 * siblings'): `avoid` uses them only when nothing equally good by objectives (1)-(3) is healthy;
 * `exclude` never uses them; `ignore` pays no attention.
 */
export type DegradedMode = 'avoid' | 'exclude' | 'ignore';

/** Per-cycle state of one node, by name. */
export interface NodeState {
  usedGpus?: readonly number[];
  unhealthyGpus?: readonly number[];
  /** Null or absent: the node takes new work. */
  unusable?: UnusableReason | null;
}

/** What reserve() and release() need of a placement: GPUs per node, by node id. */
export interface GpuClaim {
  ranks: readonly { nodeId: number; gpus: readonly number[] }[];
}

export class ClusterSnapshot {
  readonly tree: TopologyTree;
  /** Per GPU (tree.gpuOffset[node] + index): GPU_FREE, GPU_USED or GPU_UNHEALTHY. */
  readonly gpuState: Uint8Array;
  /** Free healthy GPUs per node (also on nodes that take no work). */
  readonly nodeFree: Int32Array;
  /** Per node: null when it takes work, else why not. */
  readonly unusable: readonly (UnusableReason | null)[];
  /** Free healthy GPUs on nodes that take work, per level and domain id. */
  readonly domainFree: readonly Int32Array[];
  /** Bumped by every reserve/release; caches keyed on it stay valid while it is unchanged. */
  version = 0;
  /** Cache for the placement engine's per-request node filters (valid for the snapshot's life). */
  readonly filterCache = new Map<string, unknown>();
  /**
   * Node ids whose free GPUs changed, in order, one entry per node per reserve/release:
   * capacity views kept by the placement engine catch up from here instead of recomputing.
   */
  readonly changeLog: number[] = [];
  /** Per level and domain id: 1 when the domain is marked degraded (markDegraded). */
  degraded: readonly Uint8Array[] = [];
  /** Per node id: 1 when neither the node nor any domain above it is degraded; null when none is. */
  healthyNodes: Uint8Array | null = null;
  degradedMode: DegradedMode = 'avoid';

  private constructor(tree: TopologyTree, gpuState: Uint8Array, unusable: (UnusableReason | null)[]) {
    this.tree = tree;
    this.gpuState = gpuState;
    this.unusable = unusable;
    const n = tree.nodeCount;
    this.nodeFree = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const off = tree.gpuOffset[i] as number;
      const cnt = tree.gpuCount[i] as number;
      let free = 0;
      for (let g = 0; g < cnt; g++) if (gpuState[off + g] === GPU_FREE) free++;
      this.nodeFree[i] = free;
    }
    this.domainFree = tree.levels.map((_, l) => new Int32Array(tree.domainCount[l] ?? 0));
    const anc = tree.ancestor;
    for (let i = 0; i < n; i++) {
      if (unusable[i] !== null) continue;
      const f = this.nodeFree[i] as number;
      for (let l = 0; l <= tree.top; l++) {
        const arr = this.domainFree[l] as Int32Array;
        const d = (anc[l] as Int32Array)[i] as number;
        arr[d] = (arr[d] as number) + f;
      }
    }
  }

  /**
   * A snapshot from per-node state looked up by node name (nodes left out are fully
   * free, healthy and usable). Errors name the node and the field.
   */
  static create(tree: TopologyTree, state: (nodeName: string) => NodeState | undefined = () => undefined): ClusterSnapshot {
    const gpuState = new Uint8Array(tree.totalGpus);
    const unusable: (UnusableReason | null)[] = [];
    for (let i = 0; i < tree.nodeCount; i++) {
      const name = tree.nodeName(i);
      const s = state(name);
      const off = tree.gpuOffset[i] as number;
      const cnt = tree.gpuCount[i] as number;
      const mark = (list: readonly number[] | undefined, value: number, field: string): void => {
        for (const g of list ?? []) {
          if (!Number.isInteger(g) || g < 0 || g >= cnt) {
            throw new InvalidArgumentError(`${name}.${field}`, `GPU index ${String(g)} is not in 0..${cnt - 1}`);
          }
          // Unhealthy wins over used: a used GPU that turns unhealthy is not given back as free.
          if (value === GPU_UNHEALTHY || gpuState[off + g] === GPU_FREE) gpuState[off + g] = value;
        }
      };
      mark(s?.usedGpus, GPU_USED, 'usedGpus');
      mark(s?.unhealthyGpus, GPU_UNHEALTHY, 'unhealthyGpus');
      unusable.push(s?.unusable ?? null);
    }
    return new ClusterSnapshot(tree, gpuState, unusable);
  }

  /** An independent copy (same tree), e.g. to plan "what if" without touching the cycle's snapshot. */
  clone(): ClusterSnapshot {
    const c = new ClusterSnapshot(this.tree, this.gpuState.slice(), [...this.unusable]);
    c.degraded = this.degraded.map((a) => a.slice());
    c.healthyNodes = this.healthyNodes ? this.healthyNodes.slice() : null;
    c.degradedMode = this.degradedMode;
    return c;
  }

  /**
   * Marks domains degraded for placement (by level name and domain name; names the tree does not
   * have are skipped, so a report about a node that left does no harm). Returns how many were marked.
   */
  markDegraded(domains: readonly { level: string; name: string }[], mode: DegradedMode = 'avoid'): number {
    const tree = this.tree;
    const flags = tree.levels.map((_, l) => new Uint8Array(tree.domainCount[l] ?? 0));
    let marked = 0;
    for (const d of domains) {
      const l = tree.levelIndex(d.level);
      const id = l >= 0 ? tree.domainId(l, d.name) : -1;
      if (id < 0) continue;
      (flags[l] as Uint8Array)[id] = 1;
      marked++;
    }
    this.degraded = flags;
    this.degradedMode = mode;
    this.healthyNodes = null;
    if (marked === 0) return 0;
    const healthy = new Uint8Array(tree.nodeCount).fill(1);
    for (let n = 0; n < tree.nodeCount; n++) {
      for (let l = 0; l <= tree.top; l++) {
        if ((flags[l] as Uint8Array)[(tree.ancestor[l] as Int32Array)[n] as number] === 1) {
          healthy[n] = 0;
          break;
        }
      }
    }
    this.healthyNodes = healthy;
    return marked;
  }

  isFree(nodeId: number, gpu: number): boolean {
    return this.gpuState[(this.tree.gpuOffset[nodeId] as number) + gpu] === GPU_FREE;
  }

  /** Free healthy GPU indices of a node, ascending. */
  freeGpus(nodeId: number): number[] {
    const off = this.tree.gpuOffset[nodeId] as number;
    const cnt = this.tree.gpuCount[nodeId] as number;
    const out: number[] = [];
    for (let g = 0; g < cnt; g++) if (this.gpuState[off + g] === GPU_FREE) out.push(g);
    return out;
  }

  /** Take the placement's GPUs. Throws (and changes nothing) if any of them is not free. */
  reserve(claim: GpuClaim): void {
    for (const r of claim.ranks) {
      for (const g of r.gpus) {
        if (!this.isFree(r.nodeId, g)) {
          throw new FailedPreconditionError(`GPU ${g} of node ${this.tree.nodeName(r.nodeId)} is not free`);
        }
      }
    }
    // A claim may list a GPU twice only by mistake; check before changing anything.
    const seen = new Set<number>();
    for (const r of claim.ranks) {
      for (const g of r.gpus) {
        const k = (this.tree.gpuOffset[r.nodeId] as number) + g;
        if (seen.has(k)) throw new FailedPreconditionError(`GPU ${g} of node ${this.tree.nodeName(r.nodeId)} is claimed twice`);
        seen.add(k);
      }
    }
    for (const r of claim.ranks) this.apply(r.nodeId, r.gpus, GPU_FREE, GPU_USED, -1);
    this.version++;
  }

  /** Give back the placement's GPUs (rollback of reserve). Throws if any of them is not in use. */
  release(claim: GpuClaim): void {
    for (const r of claim.ranks) {
      for (const g of r.gpus) {
        if (this.gpuState[(this.tree.gpuOffset[r.nodeId] as number) + g] !== GPU_USED) {
          throw new FailedPreconditionError(`GPU ${g} of node ${this.tree.nodeName(r.nodeId)} is not in use`);
        }
      }
    }
    for (const r of claim.ranks) this.apply(r.nodeId, r.gpus, GPU_USED, GPU_FREE, 1);
    this.version++;
  }

  private apply(nodeId: number, gpus: readonly number[], from: number, to: number, delta: number): void {
    const off = this.tree.gpuOffset[nodeId] as number;
    let changed = 0;
    for (const g of gpus) {
      if (this.gpuState[off + g] === from) {
        this.gpuState[off + g] = to;
        changed++;
      }
    }
    const d = delta * changed;
    this.nodeFree[nodeId] = (this.nodeFree[nodeId] as number) + d;
    if (changed) this.changeLog.push(nodeId);
    if (this.unusable[nodeId] !== null) return;
    const tree = this.tree;
    for (let l = 0; l <= tree.top; l++) {
      const arr = this.domainFree[l] as Int32Array;
      const dom = (tree.ancestor[l] as Int32Array)[nodeId] as number;
      arr[dom] = (arr[dom] as number) + d;
    }
  }
}
