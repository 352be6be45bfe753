/**
 * The scheduler's in-memory view of the nodes, fed by agent registrations and reports.
 * No I/O and no clock: every call takes `nowMs`; callers persist the records it returns and
 * publish the transitions it reports.
 */
import type { HealthVerdict, Inventory, NodeDiagnostic, NodeRecord, Schedulability } from '../../shared/domain/index.js';
import { worstSeverity } from '../../shared/domain/index.js';

export interface Registration {
  name: string;
  address: string;
  agentVersion: string;
  inventory: Inventory;
  labels: Record<string, string>;
  verdicts: HealthVerdict[];
  /** The agent's runner.allowedUsers and runner.allowRoot: the accounts it runs ranks as. */
  allowedUsers: string[];
  allowRoot: boolean;
}

export interface ReportUpdate {
  inventory?: Inventory;
  verdicts?: HealthVerdict[];
}

export type Transition =
  | { type: 'registered'; node: NodeRecord }
  | { type: 'back'; node: NodeRecord; downForMs: number }
  | { type: 'reconnected'; node: NodeRecord }
  | { type: 'lost'; node: NodeRecord }
  | { type: 'health'; node: NodeRecord; previous: NodeRecord['health'] }
  | { type: 'schedulability'; node: NodeRecord }
  /** An operator approved a node that joined while approval was required. */
  | { type: 'approved'; node: NodeRecord }
  /** An operator deleted the node's record (the record as it was). */
  | { type: 'deleted'; node: NodeRecord };

export class ClusterModel {
  private readonly nodes = new Map<string, NodeRecord>();
  /**
   * Node names in order, kept as names join (records are replaced on every report, names are
   * not): list() maps them to the current records instead of sorting every node per call, which
   * a cycle after each of 10,000 registrations paid in full.
   */
  private readonly order: string[] = [];
  /** Names of the nodes being drained: each cycle looks for drains past their deadline, seldom any. */
  private readonly drainingNames = new Set<string>();
  /** When each ready node is declared lost unless it reports again. */
  private readonly deadlines = new Map<string, number>();

  /**
   * `requireApproval`: a name never seen before joins awaiting approval (takes no work until
   * approve()); a known name keeps its flag across reconnects and restarts.
   */
  constructor(
    private readonly lostAfterMs: number,
    private readonly requireApproval = false,
  ) {}

  /**
   * Loads stored nodes at start. Ready nodes get a fresh deadline of at least `graceMs`, so a
   * scheduler restart does not flap them (and fail their gangs) while agents reconnect.
   */
  load(records: readonly NodeRecord[], nowMs: number, graceMs = 0): void {
    for (const r of records) {
      this.put(r);
      if (r.connectivity === 'ready') this.deadlines.set(r.name, nowMs + Math.max(this.lostAfterMs, graceMs));
    }
  }

  /** Stores a record; a new name takes its place in the order (binary search, then one insert). */
  private put(node: NodeRecord): void {
    if (!this.nodes.has(node.name)) {
      let lo = 0;
      let hi = this.order.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.order[mid]! < node.name) lo = mid + 1;
        else hi = mid;
      }
      this.order.splice(lo, 0, node.name);
    }
    this.nodes.set(node.name, node);
    if (node.schedulability === 'draining') this.drainingNames.add(node.name);
    else this.drainingNames.delete(node.name);
  }

  get(name: string): NodeRecord | undefined {
    return this.nodes.get(name);
  }

  list(): NodeRecord[] {
    return this.order.map((name) => this.nodes.get(name)!);
  }

  /** The nodes being drained, by name. */
  draining(): NodeRecord[] {
    return [...this.drainingNames].sort().map((name) => this.nodes.get(name)!);
  }

  get size(): number {
    return this.nodes.size;
  }

  register(reg: Registration, nowMs: number): Transition[] {
    const prev = this.nodes.get(reg.name);
    const health = worstSeverity(reg.verdicts);
    const awaiting = prev ? prev.awaitingApproval === true : this.requireApproval;
    const node: NodeRecord = {
      name: reg.name,
      address: reg.address,
      connectivity: 'ready',
      // Schedulability is the operator's (or health policy's) and survives reconnects.
      schedulability: prev?.schedulability ?? 'schedulable',
      schedulabilityReason: prev?.schedulabilityReason ?? '',
      ...(awaiting ? { awaitingApproval: true } : {}),
      health,
      verdicts: reg.verdicts,
      inventory: reg.inventory,
      labels: reg.labels,
      agentVersion: reg.agentVersion,
      registeredMs: prev?.registeredMs ?? nowMs,
      lastSeenMs: nowMs,
      reportsReceived: prev?.reportsReceived ?? 0,
      allowedUsers: reg.allowedUsers,
      allowRoot: reg.allowRoot,
      ...(prev?.lastDiagnostic ? { lastDiagnostic: prev.lastDiagnostic } : {}),
    };
    this.put(node);
    this.deadlines.set(reg.name, nowMs + this.lostAfterMs);
    const out: Transition[] = [];
    if (!prev) out.push({ type: 'registered', node });
    else if (prev.connectivity === 'lost') out.push({ type: 'back', node, downForMs: nowMs - prev.lastSeenMs });
    else out.push({ type: 'reconnected', node });
    if (prev && prev.health !== health) out.push({ type: 'health', node, previous: prev.health });
    return out;
  }

  /** Applies a report; returns transitions (a lost node that reports again comes back). */
  report(name: string, update: ReportUpdate, nowMs: number): Transition[] {
    const prev = this.nodes.get(name);
    if (!prev) return [];
    const verdicts = update.verdicts ?? prev.verdicts;
    const node: NodeRecord = {
      ...prev,
      connectivity: 'ready',
      inventory: update.inventory ?? prev.inventory,
      verdicts,
      health: worstSeverity(verdicts),
      lastSeenMs: nowMs,
      reportsReceived: prev.reportsReceived + 1,
    };
    this.put(node);
    this.deadlines.set(name, nowMs + this.lostAfterMs);
    const out: Transition[] = [];
    if (prev.connectivity === 'lost') out.push({ type: 'back', node, downForMs: nowMs - prev.lastSeenMs });
    if (prev.health !== node.health) out.push({ type: 'health', node, previous: prev.health });
    return out;
  }

  /** Replaces a node's verdicts (a check the scheduler itself makes, issue 24); a health transition when its health changes. */
  setVerdicts(name: string, verdicts: HealthVerdict[]): Transition[] {
    const prev = this.nodes.get(name);
    if (!prev) return [];
    const node: NodeRecord = { ...prev, verdicts, health: worstSeverity(verdicts) };
    this.put(node);
    return prev.health !== node.health ? [{ type: 'health', node, previous: prev.health }] : [];
  }

  /** Keeps a node's last diagnostic on its record; the updated record, undefined for an unknown node. */
  setDiagnostic(name: string, diagnostic: NodeDiagnostic): NodeRecord | undefined {
    const prev = this.nodes.get(name);
    if (!prev) return undefined;
    const node: NodeRecord = { ...prev, lastDiagnostic: { ...diagnostic } };
    this.put(node);
    return node;
  }

  /** Cordon, drain or uncordon; returns no transition when nothing changes. */
  setSchedulability(name: string, schedulability: Schedulability, reason: string, drainDeadlineMs = 0): Transition[] {
    const prev = this.nodes.get(name);
    if (!prev) return [];
    const deadline = schedulability === 'draining' ? drainDeadlineMs : 0;
    if (prev.schedulability === schedulability && prev.schedulabilityReason === reason && (prev.drainDeadlineMs ?? 0) === deadline) return [];
    const { drainDeadlineMs: _old, ...rest } = prev;
    const node: NodeRecord = { ...rest, schedulability, schedulabilityReason: reason, ...(deadline > 0 ? { drainDeadlineMs: deadline } : {}) };
    this.put(node);
    return [{ type: 'schedulability', node }];
  }

  /** Lets a node that joined awaiting approval take work; no transition when it was not waiting (or is unknown). */
  approve(name: string): Transition[] {
    const prev = this.nodes.get(name);
    if (!prev?.awaitingApproval) return [];
    const { awaitingApproval: _waiting, ...node } = prev;
    this.put(node);
    return [{ type: 'approved', node }];
  }

  /** Forgets a node entirely (the operator deleted it): its name joins afresh if it registers again. */
  remove(name: string): Transition[] {
    const prev = this.nodes.get(name);
    if (!prev) return [];
    this.nodes.delete(name);
    this.order.splice(this.order.indexOf(name), 1);
    this.drainingNames.delete(name);
    this.deadlines.delete(name);
    return [{ type: 'deleted', node: prev }];
  }

  /** Marks nodes whose deadline passed as lost. */
  sweep(nowMs: number): Transition[] {
    const out: Transition[] = [];
    for (const [name, deadline] of this.deadlines) {
      if (deadline > nowMs) continue;
      this.deadlines.delete(name);
      const prev = this.nodes.get(name);
      if (!prev || prev.connectivity === 'lost') continue;
      const node: NodeRecord = { ...prev, connectivity: 'lost' };
      this.put(node);
      out.push({ type: 'lost', node });
    }
    return out;
  }

  countBy(): { ready: number; lost: number; schedulable: number; cordoned: number; draining: number; ok: number; warn: number; fail: number; awaitingApproval: number } {
    const c = { ready: 0, lost: 0, schedulable: 0, cordoned: 0, draining: 0, ok: 0, warn: 0, fail: 0, awaitingApproval: 0 };
    for (const n of this.nodes.values()) {
      c[n.connectivity]++;
      c[n.schedulability]++;
      c[n.health]++;
      if (n.awaitingApproval) c.awaitingApproval++;
    }
    return c;
  }
}
