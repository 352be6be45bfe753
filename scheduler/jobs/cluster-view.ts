/**
 * The job manager's read model of the cluster: the topology tree (cached while the nodes' names
 * and inventories stand), the snapshot of free and used GPUs a cycle plans on, the MASTER_PORTs
 * reserved per node, the per-domain view `gantry topology` shows, whether a job could ever fit,
 * and the rank records of a placement.
 */
import { ACTIVE_JOB_STATES, type JobRecord, type NodeRecord, type RankRecord } from '../../shared/domain/index.js';
import { FailedPreconditionError, InvalidArgumentError } from '../../shared/errors/index.js';
import type { JobSpec } from '../../shared/jobspec/index.js';
import type { ClusterModel } from '../cluster/index.js';
import { explainText, placeJob, requestFromJobSpec, type Placement } from '../placement/index.js';
import {
  buildTopology,
  ClusterSnapshot,
  degradedNvlinkDomains,
  GPU_FREE,
  GPU_USED,
  nodeInputFromRecord,
  nodeStateFromRecord,
  recordProblem,
  type DegradedMode,
  type TopologyNodeInput,
  type TopologyTree,
} from '../topology/index.js';
import type { ClusterTopologyView, TopologyDomainView } from '../../shared/wire/index.js';


/** What a cycle plans on. */
export interface CycleSnapshot {
  tree: TopologyTree;
  snapshot: ClusterSnapshot;
  byName: Map<string, NodeRecord>;
  /** MASTER_PORTs reserved per node by the active jobs' units. */
  ports: Map<string, Set<number>>;
}

/**
 * A node that names a domain at some level but not at a coarser one sits in a coarser domain of
 * the same name (one leaf with no spine label is its own spine, shared by every node of that
 * leaf), so partial labels still nest.
 */
function inheritDomains(input: TopologyNodeInput, levels: readonly string[]): TopologyNodeInput {
  const domains = { ...(input.domains ?? {}) };
  let last: string | undefined;
  for (const level of levels) {
    if (domains[level]) last = domains[level];
    else if (last !== undefined) domains[level] = last;
  }
  return { ...input, domains };
}

/** `leaf-1.leaf-1.n-a.n-a` (implicit and inherited domains) reads `leaf-1.n-a`. */
function collapseRepeats(address: string): string {
  return address.split('.').filter((p, i, a) => i === 0 || p !== a[i - 1]).join('.');
}

/** Nodes left out of the tree: name -> why (the field and the fault). */
export type Exclusions = ReadonlyMap<string, string>;

/** Told each time the set of excluded nodes (or a reason) changes: the nodes newly excluded, and all of them now. */
export type ExclusionListener = (added: ReadonlyArray<{ node: string; reason: string }>, all: Exclusions) => void;

const NODE_FIELD = /^nodes\[(\d+)\]/;

/**
 * The tree of the nodes that can be used: a record that cannot be turned into tree input, or that the
 * builder refuses (its fault names `nodes[i]`), is left out with the reason and the build goes on
 * without it, so one bad record never stops the others being scheduled. A fault that names no node
 * (the configured levels) still throws. At most one rebuild per excluded node.
 */
export function nodeInputs(levels: readonly string[], nodes: readonly NodeRecord[]): { inputs: TopologyNodeInput[]; excluded: Map<string, string> } {
  const excluded = new Map<string, string>();
  const inputs: TopologyNodeInput[] = [];
  // Issue 24: a domain whose fabric health some node reports degraded is NVLink-connected for none of its nodes.
  const untrustedNvlink = degradedNvlinkDomains(nodes);
  for (const n of nodes) {
    try {
      const problem = recordProblem(n);
      if (problem !== null) excluded.set(n.name, problem);
      else inputs.push(inheritDomains(nodeInputFromRecord(n, levels, untrustedNvlink), levels));
    } catch (e) {
      excluded.set(String(n.name), `the record cannot be read: ${(e as Error).message}`);
    }
  }
  return { inputs, excluded };
}

/** The tree of `inputs` less those the builder refuses, which join `excluded` (a copy is returned). */
export function buildUsableTopology(
  levels: readonly string[],
  given: readonly TopologyNodeInput[],
  excludedBefore: ReadonlyMap<string, string> = new Map(),
): { tree: TopologyTree; excluded: Map<string, string> } {
  const excluded = new Map(excludedBefore);
  let inputs = given;
  for (;;) {
    try {
      return { tree: buildTopology(levels, inputs), excluded };
    } catch (e) {
      const m = e instanceof InvalidArgumentError ? NODE_FIELD.exec(e.field) : null;
      const bad = m ? inputs[Number(m[1])] : undefined;
      if (!bad) throw e;
      // The reason without the list position (which moves as nodes come and go).
      excluded.set(bad.name, (e as Error).message.replace(NODE_FIELD, 'node'));
      inputs = inputs.filter((x) => x !== bad);
    }
  }
}

export class ClusterView {
  private tree: TopologyTree | undefined;
  private treeKey = '';
  /** The node records the tree was last checked against (compared by identity). */
  private treeNodes: readonly NodeRecord[] = [];
  /** Per request shape (JSON), why it could not fit on the current tree even if every node were free (null: it could). */
  private readonly everFits = new Map<string, string | null>();
  private readonly nodeInputs = new Map<string, readonly unknown[]>();
  private excludedNodes: Exclusions = new Map();

  constructor(
    private readonly levels: string[],
    private readonly cluster: ClusterModel,
    private readonly degraded?: () => { domains: { level: string; name: string }[]; mode: DegradedMode },
    private readonly onExcluded?: ExclusionListener,
  ) {}

  /** The nodes left out of placement because their records cannot be used, and why (as of the last tree built). */
  get excluded(): Exclusions {
    return this.excludedNodes;
  }

  private setExcluded(now: Map<string, string>): void {
    const prev = this.excludedNodes;
    const added = [...now].filter(([node, reason]) => prev.get(node) !== reason).map(([node, reason]) => ({ node, reason }));
    const changed = added.length > 0 || [...prev.keys()].some((n) => !now.has(n));
    this.excludedNodes = now;
    if (changed) this.onExcluded?.(added, now);
  }

  /** The topology tree of the registered nodes (rebuilt only when the node set changes). */
  topology(nodes: readonly NodeRecord[] = this.cluster.list()): TopologyTree {
    // A node's place in the tree comes from its name, inventory, labels and allow-list only (nodeInputFromRecord),
    // and records are replaced, never changed in place: a report that changed nothing keeps the
    // inventory, labels and allow-list objects, so the same inputs make the same tree.
    // (Comparing whole records missed after every heartbeat, and then built and compared every node's input.)
    const prev = this.treeNodes;
    const same =
      this.tree &&
      nodes.length === prev.length &&
      nodes.every((n, i) => {
        const p = prev[i]!;
        return n.name === p.name && n.inventory === p.inventory && n.labels === p.labels && n.allowedUsers === p.allowedUsers && n.allowRoot === p.allowRoot;
      });
    this.treeNodes = nodes;
    if (same) return this.tree!;
    const { inputs, excluded } = nodeInputs(this.levels, nodes);
    const key = JSON.stringify([inputs, [...excluded]]);
    if (!this.tree || key !== this.treeKey) {
      let built: ReturnType<typeof buildUsableTopology>;
      try {
        built = buildUsableTopology(this.levels, inputs, excluded);
      } catch (e) {
        this.treeNodes = [];
        throw new FailedPreconditionError(`the cluster's topology is inconsistent (check the agents' topology labels): ${(e as Error).message}`, { cause: e });
      }
      this.tree = built.tree;
      this.treeKey = key;
      this.everFits.clear();
      this.setExcluded(built.excluded);
    }
    return this.tree;
  }

  /** Refuses a job that could not fit even if every registered node were free (`runAs`: its account, jobRunAs). */
  checkCouldEverFit(spec: JobSpec, runAs: string): void {
    const tree = this.topology();
    const request = requestFromJobSpec(spec, runAs);
    // The answer depends on the tree and the request only: asked once per shape of request while the tree stands.
    const key = JSON.stringify(request);
    let failure = this.everFits.get(key);
    if (failure === undefined) {
      const snapshot = ClusterSnapshot.create(tree, () => ({ usedGpus: [], unhealthyGpus: [], unusable: null }));
      const out = placeJob(snapshot, request);
      failure = out.fits ? null : out.failed && !out.failed.fits ? explainText(out.failed) : 'not enough nodes';
      if (this.everFits.size >= 1024) this.everFits.clear();
      this.everFits.set(key, failure);
    }
    if (failure !== null) throw new FailedPreconditionError(`job ${spec.name} could not fit even if every registered node were free: ${failure}`);
  }

  /**
   * Whether any node's capacity inputs (connectivity, schedulability, approval, health, verdicts,
   * inventory, labels, allow-list; compared by identity) changed since the last look.
   */
  nodeInputsChanged(byName: ReadonlyMap<string, NodeRecord>): boolean {
    let changed = byName.size !== this.nodeInputs.size;
    for (const [name, n] of byName) {
      const inputs = [n.connectivity, n.schedulability, n.awaitingApproval, n.health, n.verdicts, n.inventory, n.labels, n.allowedUsers, n.allowRoot];
      const prev = this.nodeInputs.get(name);
      if (!prev || prev.some((x, i) => x !== inputs[i])) {
        changed = true;
        this.nodeInputs.set(name, inputs);
      }
    }
    if (byName.size !== this.nodeInputs.size) for (const name of [...this.nodeInputs.keys()]) if (!byName.has(name)) this.nodeInputs.delete(name);
    return changed;
  }

  /** The tree and this moment's free and used GPUs (of active jobs, and of `stopping` ranks), plus reserved ports. */
  snapshot(live: Iterable<JobRecord>, stopping: Iterable<{ node: string; gpus: number[] }>): CycleSnapshot {
    const nodes = this.cluster.list();
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const tree = this.topology(nodes);
    const used = new Map<string, number[]>();
    const addUsed = (node: string, gpus: readonly number[]): void => {
      const list = used.get(node);
      if (list) list.push(...gpus);
      else used.set(node, [...gpus]);
    };
    const ports = new Map<string, Set<number>>();
    for (const j of live) {
      if (!ACTIVE_JOB_STATES.has(j.state)) continue;
      for (const r of j.ranks) addUsed(r.node, r.gpus);
      // Each unit's MASTER_PORT is reserved on its rank 0's node (records from before per-unit ports: the job's).
      const seen = new Set<number>();
      for (const r of j.ranks) {
        if (seen.has(r.unit)) continue;
        seen.add(r.unit);
        const port = r.masterPort ?? j.masterPort;
        if (port) ports.set(r.node, (ports.get(r.node) ?? new Set()).add(port));
      }
    }
    for (const r of stopping) addUsed(r.node, r.gpus);
    const snapshot = ClusterSnapshot.create(tree, (name) => {
      const rec = byName.get(name);
      return rec ? nodeStateFromRecord(rec, used.get(name) ?? []) : undefined;
    });
    const degraded = this.degraded?.();
    if (degraded) snapshot.markDegraded(degraded.domains, degraded.mode);
    return { tree, snapshot, byName, ports };
  }

  /** The tree with GPUs per domain: free (placeable now), used (allocated to jobs), unavailable (unhealthy, lost, cordoned...). */
  view(at: CycleSnapshot): ClusterTopologyView {
    const { tree, snapshot } = at;
    const perNode = Array.from({ length: tree.nodeCount }, (_, n) => {
      const total = tree.gpuCount[n] as number;
      const off = tree.gpuOffset[n] as number;
      let used = 0;
      let free = 0;
      for (let g = 0; g < total; g++) {
        const st = snapshot.gpuState[off + g];
        if (st === GPU_USED) used++;
        else if (st === GPU_FREE && snapshot.unusable[n] === null) free++;
      }
      return { total, used, free };
    });
    const domains: TopologyDomainView[] = [];
    // Coarsest first, each domain followed by its children (depth-first ids make this an in-order list per level).
    const visit = (level: number, id: number, parent: string): void => {
      const name = tree.names[level]![id]!;
      let total = 0;
      let used = 0;
      let free = 0;
      const from = level === 0 ? id : (tree.nodeStart[level]![id] as number);
      const to = level === 0 ? id + 1 : (tree.nodeEnd[level]![id] as number);
      for (let n = from; n < to; n++) {
        total += perNode[n]!.total;
        used += perNode[n]!.used;
        free += perNode[n]!.free;
      }
      domains.push({ level: tree.levels[level]!, name, parent, nodes: to - from, gpusTotal: total, gpusUsed: used, gpusFree: free, gpusUnavailable: total - used - free, degraded: snapshot.degraded[level]?.[id] === 1 });
      if (level === 0) return;
      for (let c = tree.childStart[level]![id] as number; c < (tree.childEnd[level]![id] as number); c++) visit(level - 1, c, name);
    };
    for (let id = 0; id < (tree.domainCount[tree.top] ?? 0); id++) visit(tree.top, id, '');
    return { levels: [...tree.levels], domains };
  }
}

/** The rank records of a placement (unit i: placement i), starting, with GPU UUIDs and topology addresses. */
export function ranksOf(placements: readonly Placement[], at: Pick<CycleSnapshot, 'tree' | 'byName'>): RankRecord[] {
  const ranks: RankRecord[] = [];
  placements.forEach((p, unit) => {
    for (const r of p.ranks) {
      const inv = at.byName.get(r.node)?.inventory;
      ranks.push({
        rank: ranks.length,
        unit,
        node: r.node,
        gpus: [...r.gpus],
        gpuUuids: r.gpus.map((g) => inv?.gpus.find((x) => x.index === g)?.uuid ?? ''),
        topologyAddress: collapseRepeats(at.tree.topologyAddress(r.nodeId)),
        state: 'starting',
        exitCode: null,
        signal: null,
      });
    }
  });
  return ranks;
}
