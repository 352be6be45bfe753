/**
 * The static topology tree: built once per node-set change, read by every placement.
 *
 * Levels are numbered finest first: 0 is `node`, 1..K are the configured levels
 * (e.g. nvlink, leaf, spine) and K+1 is the implicit root `cluster`. Nodes and the
 * domains of every level get dense integer ids in depth-first order (siblings in
 * natural name order), so the nodes of any domain are one contiguous id range and
 * the children of a domain are one contiguous id range of the level below. Per-cycle
 * state (free GPUs, capacities) then lives in typed arrays indexed by these ids.
 */
import type { LinkGroup, Vendor } from '../../shared/domain/index.js';
import { InvalidArgumentError } from '../../shared/errors/index.js';
import { naturalCompare } from './natural.js';

export const NODE_LEVEL = 'node';
export const ROOT_LEVEL = 'cluster';
const RESERVED_LEVELS = new Set([NODE_LEVEL, ROOT_LEVEL, 'gpu']);
const LINK_KINDS = new Set(['nvlink', 'pcie-switch', 'numa']);

/** What the tree needs to know of one node (static for the life of the tree). */
export interface TopologyNodeInput {
  name: string;
  /** GPU count; GPU indices are 0..gpus-1. */
  gpus: number;
  /** Level name -> domain name. A level left out makes the node its own domain at that level. */
  domains?: Record<string, string>;
  vendor?: Vendor;
  model?: string;
  /** Memory of one GPU in GiB (0 or absent: unknown). */
  memoryGiB?: number;
  driver?: string;
  cuda?: string;
  /** Node labels (the agent's `labels`, the cluster file's `labels`), matched by a job's nodeSelector. */
  labels?: Record<string, string>;
  /** The accounts the node's agent runs ranks as (runner.allowedUsers); absent: none. */
  allowedUsers?: readonly string[];
  /** Whether its agent runs ranks as root (runner.allowRoot). */
  allowRoot?: boolean;
  /** GPU link groups (NVLink/NVSwitch, PCIe switch, NUMA); empty when unknown. */
  linkGroups?: LinkGroup[];
}

export interface BuildOptions {
  /** Prefix for field names in errors (default `nodes`, giving `nodes[3].domains.leaf`). */
  nodesField?: string;
  levelsField?: string;
}

export class TopologyTree {
  /** Level names, finest first: `node`, the configured levels, `cluster`. */
  readonly levels: readonly string[];
  /** Index of the root level (`cluster`). */
  readonly top: number;
  readonly nodeCount: number;
  /** Number of domains per level (level 0: nodes; top: 1). */
  readonly domainCount: readonly number[];
  /** names[level][id]. */
  readonly names: readonly (readonly string[])[];
  /** parent[level][id]: id at level+1 (empty array for the root level). */
  readonly parent: readonly Int32Array[];
  /** For level >= 1: children of domain id are ids childStart..childEnd-1 of level-1. */
  readonly childStart: readonly Int32Array[];
  readonly childEnd: readonly Int32Array[];
  /** Node id range of each domain: nodeStart[level][id]..nodeEnd[level][id]-1. */
  readonly nodeStart: readonly Int32Array[];
  readonly nodeEnd: readonly Int32Array[];
  /** ancestor[level][nodeId]: the node's domain at that level. */
  readonly ancestor: readonly Int32Array[];
  /**
   * Mixed-radix weights for lexicographic domain counts: weight[0] = 1,
   * weight[l] = weight[l-1] * (domainCount[l-1] + 1). A vector of domain counts per
   * level (coarsest most significant) is the exact number sum(count[l] * weight[l]).
   */
  readonly weight: Float64Array;
  /** Per node (by id). */
  readonly gpuCount: Int32Array;
  readonly gpuOffset: Int32Array;
  readonly totalGpus: number;
  readonly maxGpusPerNode: number;
  readonly vendor: readonly Vendor[];
  readonly model: readonly string[];
  readonly memoryGiB: Float64Array;
  readonly driver: readonly string[];
  readonly cuda: readonly string[];
  /** Per node: its labels (without the built-in gantry.io/node, which is its name). */
  readonly labels: readonly ReadonlyMap<string, string>[];
  /** Per node: the accounts its agent runs ranks as, and (1) whether it runs them as root. */
  readonly allowedUsers: readonly ReadonlySet<string>[];
  readonly allowRoot: Uint8Array;
  readonly linkGroups: readonly (readonly LinkGroup[])[];
  private readonly nodeIds: Map<string, number>;
  private readonly domainIds: Map<string, number>[];

  /** @internal use buildTopology */
  constructor(init: {
    levels: string[];
    names: string[][];
    parent: Int32Array[];
    nodes: TopologyNodeInput[];
  }) {
    this.levels = init.levels;
    this.top = init.levels.length - 1;
    this.names = init.names;
    this.parent = init.parent;
    this.domainCount = init.names.map((n) => n.length);
    this.nodeCount = this.domainCount[0] ?? 0;
    const top = this.top;
    const n = this.nodeCount;
    const childStart: Int32Array[] = [new Int32Array(0)];
    const childEnd: Int32Array[] = [new Int32Array(0)];
    const nodeStart: Int32Array[] = [];
    const nodeEnd: Int32Array[] = [];
    const ancestor: Int32Array[] = [];
    const ns0 = new Int32Array(n);
    const ne0 = new Int32Array(n);
    const a0 = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      ns0[i] = i;
      ne0[i] = i + 1;
      a0[i] = i;
    }
    nodeStart.push(ns0);
    nodeEnd.push(ne0);
    ancestor.push(a0);
    for (let l = 1; l <= top; l++) {
      const count = this.domainCount[l] ?? 0;
      const cs = new Int32Array(count).fill(-1);
      const ce = new Int32Array(count);
      const below = init.parent[l - 1] as Int32Array;
      for (let c = 0; c < below.length; c++) {
        const p = below[c] as number;
        if ((cs[p] as number) < 0) cs[p] = c;
        ce[p] = c + 1;
      }
      childStart.push(cs);
      childEnd.push(ce);
      const prevS = nodeStart[l - 1] as Int32Array;
      const prevE = nodeEnd[l - 1] as Int32Array;
      const s = new Int32Array(count);
      const e = new Int32Array(count);
      for (let d = 0; d < count; d++) {
        s[d] = prevS[cs[d] as number] as number;
        e[d] = prevE[(ce[d] as number) - 1] as number;
      }
      nodeStart.push(s);
      nodeEnd.push(e);
      const anc = new Int32Array(n);
      const prevAnc = ancestor[l - 1] as Int32Array;
      for (let i = 0; i < n; i++) anc[i] = below[prevAnc[i] as number] as number;
      ancestor.push(anc);
    }
    this.childStart = childStart;
    this.childEnd = childEnd;
    this.nodeStart = nodeStart;
    this.nodeEnd = nodeEnd;
    this.ancestor = ancestor;
    const weight = new Float64Array(top + 1);
    weight[0] = 1;
    for (let l = 1; l <= top; l++) weight[l] = (weight[l - 1] as number) * ((this.domainCount[l - 1] ?? 0) + 1);
    this.weight = weight;
    const gpuCount = new Int32Array(n);
    const gpuOffset = new Int32Array(n + 1);
    let maxGpus = 0;
    for (let i = 0; i < n; i++) {
      const g = (init.nodes[i] as TopologyNodeInput).gpus;
      gpuCount[i] = g;
      gpuOffset[i + 1] = (gpuOffset[i] as number) + g;
      if (g > maxGpus) maxGpus = g;
    }
    this.gpuCount = gpuCount;
    this.gpuOffset = gpuOffset;
    this.totalGpus = gpuOffset[n] as number;
    this.maxGpusPerNode = maxGpus;
    this.vendor = init.nodes.map((x) => x.vendor ?? 'unknown');
    this.model = init.nodes.map((x) => x.model ?? '');
    this.memoryGiB = Float64Array.from(init.nodes.map((x) => x.memoryGiB ?? 0));
    this.driver = init.nodes.map((x) => x.driver ?? '');
    this.cuda = init.nodes.map((x) => x.cuda ?? '');
    const noLabels: ReadonlyMap<string, string> = new Map();
    this.labels = init.nodes.map((x) => (x.labels && Object.keys(x.labels).length ? new Map(Object.entries(x.labels)) : noLabels));
    const noUsers: ReadonlySet<string> = new Set();
    this.allowedUsers = init.nodes.map((x) => (x.allowedUsers?.length ? new Set(x.allowedUsers) : noUsers));
    this.allowRoot = Uint8Array.from(init.nodes.map((x) => (x.allowRoot ? 1 : 0)));
    this.linkGroups = init.nodes.map((x) => x.linkGroups ?? []);
    this.nodeIds = new Map(init.names[0]?.map((name, i) => [name, i]));
    this.domainIds = init.names.map((names) => new Map(names.map((name, i) => [name, i])));
  }

  /** Index of a level name, -1 when the tree has no such level. */
  levelIndex(name: string): number {
    return this.levels.indexOf(name);
  }

  /** Dense id of a node, -1 when unknown. */
  nodeId(name: string): number {
    return this.nodeIds.get(name) ?? -1;
  }

  /** Dense id of a domain at a level, -1 when unknown. */
  domainId(level: number, name: string): number {
    return this.domainIds[level]?.get(name) ?? -1;
  }

  nodeName(id: number): string {
    return (this.names[0] as readonly string[])[id] as string;
  }

  domainName(level: number, id: number): string {
    return (this.names[level] as readonly string[])[id] as string;
  }

  /** The node's path from the top configured level down to the node, e.g. `spine-1.leaf-3.hgx-017`. */
  topologyAddress(nodeId: number): string {
    const parts: string[] = [];
    for (let l = this.top - 1; l >= 0; l--) parts.push(this.domainName(l, (this.ancestor[l] as Int32Array)[nodeId] as number));
    return parts.join('.');
  }
}

interface DomainEntry {
  parent: string;
  /** The node that made this domain implicitly (its own domain at this level), if any. */
  implicitFor: string | null;
  field: string;
  children: Set<string>;
}

/**
 * Build the tree from the configured levels (finest first, without `node` and
 * `cluster`) and the nodes. Errors are InvalidArgumentError naming the field,
 * e.g. `nodes[3].domains.spine`.
 */
export function buildTopology(levels: readonly string[], nodes: readonly TopologyNodeInput[], options: BuildOptions = {}): TopologyTree {
  const nodesField = options.nodesField ?? 'nodes';
  const levelsField = options.levelsField ?? 'levels';
  const seenLevels = new Set<string>();
  levels.forEach((level, i) => {
    if (typeof level !== 'string' || !/^[a-z][a-z0-9-]{0,62}$/.test(level)) {
      throw new InvalidArgumentError(`${levelsField}[${i}]`, 'a level name is lower-case letters, digits and -, starting with a letter');
    }
    if (RESERVED_LEVELS.has(level)) {
      throw new InvalidArgumentError(`${levelsField}[${i}]`, `"${level}" is implicit (gpu < node < configured levels < cluster); list only the levels between node and cluster`);
    }
    if (seenLevels.has(level)) throw new InvalidArgumentError(`${levelsField}[${i}]`, `level "${level}" is listed twice`);
    seenLevels.add(level);
  });
  const all = [NODE_LEVEL, ...levels, ROOT_LEVEL];
  const top = all.length - 1;
  const K = levels.length;
  // Per configured level: domain name -> entry.
  const maps: Map<string, DomainEntry>[] = [];
  for (let l = 0; l <= top; l++) maps.push(new Map());
  const nodeNames = new Map<string, number>();
  nodes.forEach((node, i) => {
    const f = `${nodesField}[${i}]`;
    if (typeof node.name !== 'string' || node.name.length === 0 || node.name.length > 253) {
      throw new InvalidArgumentError(`${f}.name`, 'a node needs a name of 1-253 characters');
    }
    if (nodeNames.has(node.name)) throw new InvalidArgumentError(`${f}.name`, `node "${node.name}" is listed twice`);
    nodeNames.set(node.name, i);
    if (!Number.isInteger(node.gpus) || node.gpus < 0 || node.gpus > 1024) {
      throw new InvalidArgumentError(`${f}.gpus`, 'must be an integer from 0 to 1024');
    }
    for (const key of Object.keys(node.domains ?? {})) {
      if (!seenLevels.has(key)) {
        throw new InvalidArgumentError(`${f}.domains.${key}`, `unknown level "${key}"; levels are ${levels.length ? levels.join(', ') : '(none)'}`);
      }
      const v = node.domains?.[key];
      if (typeof v !== 'string' || v.length === 0) throw new InvalidArgumentError(`${f}.domains.${key}`, 'must be a non-empty domain name');
    }
    (node.linkGroups ?? []).forEach((g, gi) => {
      if (!LINK_KINDS.has(g.kind)) throw new InvalidArgumentError(`${f}.gpuGroups[${gi}].kind`, 'must be nvlink, pcie-switch or numa');
      g.gpus.forEach((x, xi) => {
        if (!Number.isInteger(x) || x < 0 || x >= node.gpus) {
          throw new InvalidArgumentError(`${f}.gpuGroups[${gi}][${xi}]`, `GPU index ${String(x)} is not in 0..${node.gpus - 1}`);
        }
      });
    });
    // Path from level 1 to K; a missing level makes the node its own domain there.
    const path: string[] = [];
    const implicit: boolean[] = [];
    for (let l = 1; l <= K; l++) {
      const level = all[l] as string;
      const given = node.domains?.[level];
      path.push(given ?? node.name);
      implicit.push(given === undefined);
    }
    for (let l = 1; l <= K; l++) {
      const name = path[l - 1] as string;
      const parent = l < K ? (path[l] as string) : ROOT_LEVEL;
      const isImplicit = implicit[l - 1] as boolean;
      const field = isImplicit ? `${f}.domains.${all[l + 1] ?? ROOT_LEVEL}` : `${f}.domains.${all[l]}`;
      const map = maps[l] as Map<string, DomainEntry>;
      const entry = map.get(name);
      if (!entry) {
        map.set(name, { parent, implicitFor: isImplicit ? node.name : null, field, children: new Set() });
      } else {
        if (entry.implicitFor !== null || isImplicit) {
          throw new InvalidArgumentError(
            `${f}.domains.${all[l]}`,
            `node "${entry.implicitFor ?? node.name}" has no ${all[l]} domain, so it is its own ${all[l]} domain named after it, which clashes with a ${all[l]} domain of that name`,
          );
        }
        if (entry.parent !== parent) {
          const pl = all[l + 1] ?? ROOT_LEVEL;
          throw new InvalidArgumentError(
            l < K ? `${f}.domains.${pl}` : `${f}.domains.${all[l]}`,
            `${all[l]} "${name}" is under ${pl} "${entry.parent}" (${entry.field}) but under "${parent}" here; domains must nest`,
          );
        }
      }
    }
    for (let l = 1; l <= K; l++) {
      const child = l === 1 ? node.name : (path[l - 2] as string);
      (maps[l] as Map<string, DomainEntry>).get(path[l - 1] as string)?.children.add(child);
    }
  });
  // Root's children: the top configured level's domains (or the nodes when K = 0).
  const rootChildren = K === 0 ? [...nodeNames.keys()] : [...(maps[K] as Map<string, DomainEntry>).keys()];
  const names: string[][] = all.map(() => []);
  const parentLists: number[][] = all.map(() => []);
  const byName = new Map<string, number>();
  const ordered: TopologyNodeInput[] = [];
  // Depth-first numbering, siblings in natural order.
  const visit = (level: number, name: string, parentId: number): void => {
    const list = names[level] as string[];
    const id = list.length;
    list.push(name);
    (parentLists[level] as number[]).push(parentId);
    if (level === 0) {
      const idx = nodeNames.get(name) as number;
      byName.set(name, id);
      ordered.push(nodes[idx] as TopologyNodeInput);
      return;
    }
    const kids = level === top ? rootChildren : [...((maps[level] as Map<string, DomainEntry>).get(name) as DomainEntry).children];
    kids.sort(naturalCompare);
    for (const k of kids) visit(level - 1, k, id);
  };
  visit(top, ROOT_LEVEL, -1);
  const parent = parentLists.map((p, l) => (l === top ? new Int32Array(0) : Int32Array.from(p)));
  const tree = new TopologyTree({ levels: all, names, parent, nodes: ordered });
  if ((tree.weight[top] as number) > Number.MAX_SAFE_INTEGER) {
    throw new InvalidArgumentError(levelsField, 'too many domains across the levels for exact placement ranking (the product of per-level domain counts must stay below 2^53)');
  }
  return tree;
}
