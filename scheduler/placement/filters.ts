/**
 * Node filters: small plugins, each saying whether a node may take a rank of a
 * request and, if not, why (the reason is counted in "does not fit" results). The
 * registry evaluates them once per snapshot and request shape and caches the mask.
 */
import { compareVersions, NODE_NAME_LABEL, versionSegments } from '../../shared/jobspec/index.js';
import type { ClusterSnapshot, TopologyTree } from '../topology/index.js';
import type { GangRequest } from './types.js';

export interface NodeFilter {
  readonly name: string;
  /** The request fields this filter reads, as a cache key ('' when it reads none). */
  requestKey(request: GangRequest): string;
  /** Null when the node passes; else a short reason, e.g. `model H100-PCIe does not match A100*`. */
  check(snapshot: ClusterSnapshot, nodeId: number, request: GangRequest): string | null;
}

/** `*` any run, `?` one character; case-insensitive, whole string. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

const globCache = new Map<string, RegExp>();
function glob(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (!re) {
    re = globToRegExp(pattern);
    if (globCache.size > 1000) globCache.clear();
    globCache.set(pattern, re);
  }
  return re;
}

/** Never a node awaiting approval, cordoned, draining, lost or failed. */
export const schedulableFilter: NodeFilter = {
  name: 'schedulable',
  requestKey: () => '',
  check: (snapshot, nodeId) => snapshot.unusable[nodeId] ?? null,
};

export const vendorFilter: NodeFilter = {
  name: 'vendor',
  requestKey: (r) => r.accelerator?.vendor ?? '',
  check(snapshot, nodeId, r) {
    const want = r.accelerator?.vendor;
    if (!want) return null;
    const have = snapshot.tree.vendor[nodeId] ?? 'unknown';
    return have === want ? null : `vendor ${have}, not ${want}`;
  },
};

export const modelFilter: NodeFilter = {
  name: 'model',
  requestKey: (r) => r.accelerator?.model ?? '',
  check(snapshot, nodeId, r) {
    const want = r.accelerator?.model;
    if (!want) return null;
    const have = snapshot.tree.model[nodeId] ?? '';
    return glob(want).test(have) ? null : `model ${have || '(unknown)'} does not match ${want}`;
  },
};

export const memoryFilter: NodeFilter = {
  name: 'memory',
  requestKey: (r) => String(r.accelerator?.minMemoryGiB ?? ''),
  check(snapshot, nodeId, r) {
    const want = r.accelerator?.minMemoryGiB;
    if (want === undefined) return null;
    const have = snapshot.tree.memoryGiB[nodeId] ?? 0;
    if (have <= 0) return 'GPU memory unknown';
    return have >= want ? null : `GPU memory below ${want} GiB`;
  },
};

/** A node label's value (`gantry.io/node` is the node's name), undefined when the node lacks it. */
export function nodeLabel(tree: TopologyTree, nodeId: number, key: string): string | undefined {
  return key === NODE_NAME_LABEL ? tree.nodeName(nodeId) : tree.labels[nodeId]?.get(key);
}

/**
 * The job's nodeSelector: every entry must hold, a string by equality, a list by membership.
 * Reasons name the first entry (in the spec's order) that fails: `label pool is inference, not
 * training`, `label zone is c, not one of a, b`, `label pool missing (wants training)`; for the
 * built-in gantry.io/node, without the node's own name: `label gantry.io/node is not gpu-01`.
 */
export const labelFilter: NodeFilter = {
  name: 'label',
  requestKey: (r) => (r.nodeSelector ? JSON.stringify(r.nodeSelector) : ''),
  check(snapshot, nodeId, r) {
    const sel = r.nodeSelector;
    if (!sel) return null;
    for (const key of Object.keys(sel)) {
      const want = sel[key] as string | readonly string[];
      const have = nodeLabel(snapshot.tree, nodeId, key);
      const list = typeof want !== 'string';
      if (have !== undefined && (list ? want.includes(have) : have === want)) continue;
      const wanted = list ? `one of ${want.join(', ')}` : want;
      if (have === undefined) return `label ${key} missing (wants ${wanted})`;
      // Every node's name differs: one counted line, not one per node.
      return key === NODE_NAME_LABEL ? `label ${key} is not ${wanted}` : `label ${key} is ${have}, not ${wanted}`;
    }
    return null;
  },
};

/** Null when the node's version `have` is at least `want` (a validated spec version); else why not. */
function versionCheck(what: string, have: string, want: string): string | null {
  const h = versionSegments(have);
  if (h === null) return have.trim() === '' ? `${what} unknown` : `${what} unknown (${have.trim()})`;
  return compareVersions(h, versionSegments(want) ?? ['0']) >= 0 ? null : `${what} ${have.trim()} below ${want}`;
}

/** accelerator.minDriver: `driver 535.104.05 below 550`, `driver unknown`. */
export const driverFilter: NodeFilter = {
  name: 'driver',
  requestKey: (r) => r.accelerator?.minDriver ?? '',
  check(snapshot, nodeId, r) {
    const want = r.accelerator?.minDriver;
    return want === undefined ? null : versionCheck('driver', snapshot.tree.driver[nodeId] ?? '', want);
  },
};

/** accelerator.minCuda: `CUDA 12.2 below 12.4`, `CUDA unknown`. */
export const cudaFilter: NodeFilter = {
  name: 'cuda',
  requestKey: (r) => r.accelerator?.minCuda ?? '',
  check(snapshot, nodeId, r) {
    const want = r.accelerator?.minCuda;
    return want === undefined ? null : versionCheck('CUDA', snapshot.tree.cuda[nodeId] ?? '', want);
  },
};

/** The account every node's agent treats as root: allowed only where root is listed and runner.allowRoot is on. */
export const ROOT_ACCOUNT = 'root';

/**
 * Whether an agent with this allow-list runs ranks as `account`: null when it does, else why not.
 * '' is the agent's own account, which only the agent can judge: always null here. Mirrors the
 * agent's own check (agent/runner: the account listed in runner.allowedUsers; root also needs
 * runner.allowRoot), short of what only the node knows (whether the user exists there).
 */
export function runAsRefusal(allowed: { has(account: string): boolean }, allowRoot: boolean, account: string): string | null {
  if (account === '') return null;
  if (!allowed.has(account)) return `runAs ${account} not allowed on the node`;
  if (account === ROOT_ACCOUNT && !allowRoot) return `runAs ${account} not allowed on the node (runner.allowRoot off)`;
  return null;
}

/** The job's account (GangRequest.runAs): only nodes whose agent allows it. Reason: `runAs alice not allowed on the node`. */
export const runAsFilter: NodeFilter = {
  name: 'runAs',
  requestKey: (r) => r.runAs ?? '',
  check(snapshot, nodeId, r) {
    const tree = snapshot.tree;
    return runAsRefusal(tree.allowedUsers[nodeId]!, tree.allowRoot[nodeId] === 1, r.runAs ?? '');
  },
};

export const DEFAULT_FILTERS: readonly NodeFilter[] = [schedulableFilter, labelFilter, vendorFilter, modelFilter, memoryFilter, driverFilter, cudaFilter, runAsFilter];

/** Which nodes pass every filter, and the first failing reason of those that do not. */
export interface FilterOutcome {
  /** Identifies the filters and request fields this outcome was computed for. */
  key: string;
  /** 1 where the node passes. */
  mask: Uint8Array;
  /** Index into `reasons` of the first failing filter's reason, -1 where the node passes. */
  reasonOf: Int32Array;
  reasons: string[];
}

let registryIds = 0;

export class FilterRegistry {
  private readonly filters: NodeFilter[];
  private readonly id = ++registryIds;

  constructor(filters: readonly NodeFilter[] = DEFAULT_FILTERS) {
    this.filters = [...filters];
  }

  /** A registry with one more filter (registries are immutable so cached masks stay right). */
  with(filter: NodeFilter): FilterRegistry {
    return new FilterRegistry([...this.filters, filter]);
  }

  names(): string[] {
    return this.filters.map((f) => f.name);
  }

  evaluate(snapshot: ClusterSnapshot, request: GangRequest): FilterOutcome {
    const key = `f${this.id}|${this.filters.map((f) => f.requestKey(request)).join('|')}`;
    const cached = snapshot.filterCache.get(key) as FilterOutcome | undefined;
    if (cached) return cached;
    const n = snapshot.tree.nodeCount;
    const mask = new Uint8Array(n);
    const reasonOf = new Int32Array(n).fill(-1);
    const reasons: string[] = [];
    const index = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      let why: string | null = null;
      for (const f of this.filters) {
        why = f.check(snapshot, i, request);
        if (why !== null) break;
      }
      if (why === null) {
        mask[i] = 1;
        continue;
      }
      let k = index.get(why);
      if (k === undefined) {
        k = reasons.length;
        reasons.push(why);
        index.set(why, k);
      }
      reasonOf[i] = k;
    }
    const outcome: FilterOutcome = { key, mask, reasonOf, reasons };
    if (snapshot.filterCache.size > 256) snapshot.filterCache.clear();
    snapshot.filterCache.set(key, outcome);
    return outcome;
  }
}

export const defaultFilterRegistry = new FilterRegistry();
