/**
 * Wires the pure ClusterModel to the world: persists what changed, publishes node events, counts.
 * One instance per scheduler; the gRPC handlers and the sweep timer call it. Health policy (issue
 * 20: scheduler/health, pure) runs here on every verdict change: cordon, drain or evict, each
 * automatic step put to the circuit breaker first; incidents drain the node.
 */
import { randomUUID } from 'node:crypto';
import type { HealthVerdict, NodeDiagnostic, NodeRecord, Schedulability } from '../shared/domain/index.js';
import type { Clock } from '../shared/clock/index.js';
import type { IncidentLeftover, NodeEvent } from '../shared/events/index.js';
import { EVENT_SCHEMA_VERSION } from '../shared/events/index.js';
import type { Logger } from '../shared/log/index.js';
import type { ClusterModel, Registration, ReportUpdate, Transition } from './cluster/index.js';
import type { EventBus } from './events/index.js';
import type { StateStore } from './store/index.js';
import { breakerDecision, HEALTH_REASON_PREFIX, incidentStep, verdictStep, type IncidentSource, type PolicyStep } from './health/index.js';
import { TRAY_DOMAIN_CHECK, trayDomainConflicts, withTrayVerdict } from './health/index.js';
import type { SchedulerMetrics } from './metrics.js';
import type { NodeHistory } from './usage/node-history.js';

/** Cordon reasons set by health policy start with this, so policy can lift its own cordons. */
export const HEALTH_CORDON_PREFIX = HEALTH_REASON_PREFIX;

export interface HealthPolicyOptions {
  /** The circuit breaker: automatic actions stop when more than this share of nodes would be out (health.maxAutoDrainShare). */
  maxAutoDrainShare: number;
  metrics?: Pick<SchedulerMetrics, 'nodeIncidents' | 'breakerOpen' | 'breakerHeldBack'>;
}

/** An incident as the registry takes it (NodeIncident, validated). */
export interface Incident {
  source: IncidentSource;
  jobId: string;
  reason: string;
  leftovers: IncidentLeftover[];
}

/** An action the breaker holds back on a node, tried again at the node's next verdict change or report. */
interface HeldBack {
  action: string;
  wanted: string;
  /** An incident's drain (kept until taken); absent: the node's verdicts ask for it. */
  incident?: { source: IncidentSource; reason: string };
}

export class NodeRegistry {
  private readonly listeners: Array<(t: Transition) => void> = [];
  private readonly evictListeners: Array<(node: string, checks: string[]) => void> = [];
  private readonly heldBack = new Map<string, HeldBack>();
  /**
   * Set by the diagnostics shell (scheduler/diagnostics): true for a node whose diagnostic is in
   * flight. Health policy then leaves its cordon alone; the diagnostic's answer returns the node
   * (one return, not two).
   */
  holdsReturn: (name: string) => boolean = () => false;
  /** Usage accounting's node history (issue 23): node entries go into the store write of the node records. Absent: none kept. */
  nodeHistory: NodeHistory | undefined;

  constructor(
    readonly cluster: ClusterModel,
    private readonly store: StateStore,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly health: HealthPolicyOptions = { maxAutoDrainShare: 0.1 },
  ) {}

  load(restartGraceMs: number): number {
    const records = this.store.listNodes();
    this.cluster.load(records, this.clock.nowMs(), restartGraceMs);
    return records.length;
  }

  async register(reg: Registration): Promise<NodeRecord> {
    const transitions = this.cluster.register({ ...reg, verdicts: this.keepTrayVerdict(reg.name, reg.verdicts) }, this.clock.nowMs());
    await this.apply(transitions, [reg.name], [reg.name]);
    await this.checkTrays();
    return this.cluster.get(reg.name)!;
  }

  async report(name: string, update: ReportUpdate): Promise<void> {
    if (update.verdicts) update = { ...update, verdicts: this.keepTrayVerdict(name, update.verdicts) };
    const transitions = this.cluster.report(name, update, this.clock.nowMs());
    // A changed inventory or verdict list is persisted even when no transition follows from it.
    const changed = update.inventory !== undefined || update.verdicts !== undefined;
    // Health policy looks again at changed verdicts, and at a node with an action held back.
    await this.apply(transitions, changed ? [name] : [], update.verdicts !== undefined || this.heldBack.has(name) ? [name] : []);
    if (update.inventory !== undefined) await this.checkTrays();
  }

  /** An agent's verdicts with the scheduler's own tray-domain verdict of the node kept (the agent does not know it). */
  private keepTrayVerdict(name: string, verdicts: HealthVerdict[]): HealthVerdict[] {
    const own = this.cluster.get(name)?.verdicts.find((v) => v.check === TRAY_DOMAIN_CHECK);
    return [...verdicts.filter((v) => v.check !== TRAY_DOMAIN_CHECK), ...(own ? [own] : [])];
  }

  /**
   * Issue 24: NVL72 tray identity against the NVLink domain, across every node (scheduler/health/tray-domain.ts).
   * A node whose disagreement appears, changes or goes gets its warning verdict set or cleared and a
   * `hardware` event. Cheap: a pass over the records, run when a node registers or its inventory changes.
   */
  async checkTrays(): Promise<void> {
    const conflicts = trayDomainConflicts(this.cluster.list());
    const transitions: Transition[] = [];
    const events: NodeEvent[] = [];
    const changed: string[] = [];
    for (const n of this.cluster.list()) {
      const evidence = conflicts.get(n.name) ?? '';
      const had = n.verdicts.find((v) => v.check === TRAY_DOMAIN_CHECK)?.evidence ?? '';
      if (evidence === had) continue;
      transitions.push(...this.cluster.setVerdicts(n.name, withTrayVerdict(n.verdicts, evidence, this.clock.nowMs())));
      events.push({ ...this.eventBase(n.name), type: 'hardware', check: TRAY_DOMAIN_CHECK, evidence });
      changed.push(n.name);
      this.log.warn({ node: n.name, event: 'hardware', check: TRAY_DOMAIN_CHECK }, evidence ? `node ${n.name}: ${evidence}` : `node ${n.name}: tray and NVLink domain agree again`);
    }
    if (changed.length > 0) await this.apply(transitions, changed, changed, events);
  }

  async sweep(): Promise<void> {
    await this.apply(this.cluster.sweep(this.clock.nowMs()), []);
  }

  /** Operator actions: cordon (no new work), drain (no new work; running gangs finish), uncordon. */
  async setSchedulability(name: string, schedulability: Schedulability, reason: string, drainDeadlineMs = 0): Promise<NodeRecord | undefined> {
    await this.apply(this.cluster.setSchedulability(name, schedulability, reason, drainDeadlineMs), []);
    return this.cluster.get(name);
  }

  /** Lets a node that joined awaiting approval take work; undefined for an unknown node. */
  async approve(name: string): Promise<NodeRecord | undefined> {
    await this.apply(this.cluster.approve(name), []);
    return this.cluster.get(name);
  }

  /**
   * Deletes a node's record from the store and the cluster view (the caller has made sure no rank
   * runs there); false for an unknown node. Its name joins afresh if its agent registers again.
   */
  async delete(name: string): Promise<boolean> {
    if (!this.cluster.get(name)) return false;
    await this.store.deleteNode(name);
    const transitions = this.cluster.remove(name);
    this.heldBack.delete(name);
    this.health.metrics?.breakerOpen.set(this.heldBack.size > 0 ? 1 : 0);
    const events = transitions.map((t) => this.toEvent(t)!);
    const usage = this.nodeHistory?.deleted(name, this.clock.nowMs()) ?? [];
    await this.store.commit(usage.length > 0 ? { events, usage } : { events });
    for (const e of events) this.log.info({ node: e.node, event: e.type }, `node ${e.type}`);
    this.events.committed(events);
    for (const t of transitions) for (const l of this.listeners) l(t);
    // Its tray-domain partners may agree again without it.
    await this.checkTrays();
    return true;
  }

  /** A node left out of placement because its record cannot be used: a node event (type excluded) with why. */
  async excluded(name: string, reason: string): Promise<void> {
    const base = { v: EVENT_SCHEMA_VERSION, id: randomUUID(), at: new Date(this.clock.nowMs()).toISOString(), kind: 'node' as const, node: name };
    const event: NodeEvent = { ...base, type: 'excluded', reason };
    await this.store.commit({ events: [event] });
    this.log.warn({ node: name, event: 'excluded', reason }, `node ${name} is left out of placement: ${reason}`);
    this.events.committed([event]);
  }

  /**
   * An incident an agent reported (NodeIncident): counted, a node event, and the node drained with
   * `health: <source>: <reason>` (circuit breaker permitting); a node already out stays as it is.
   */
  async incident(name: string, inc: Incident): Promise<void> {
    this.health.metrics?.nodeIncidents.inc({ source: inc.source });
    const event: NodeEvent = { ...this.eventBase(name), type: 'incident', source: inc.source, jobId: inc.jobId, reason: inc.reason, leftovers: inc.leftovers };
    this.log.warn({ node: name, event: 'incident', source: inc.source, job: inc.jobId || undefined, leftovers: inc.leftovers.length || undefined }, `node ${name}: ${inc.source} incident: ${inc.reason}`);
    await this.autoDrain(name, inc.source, inc.reason, [event]);
  }

  /**
   * Drains a node for an incident-like cause (`source`: prolog, epilog, gpu-clean) unless it is
   * already out; held back by the breaker when too many nodes would be out. `extra`: events to commit with it.
   */
  async autoDrain(name: string, source: IncidentSource, reason: string, extra: NodeEvent[] = []): Promise<void> {
    const node = this.cluster.get(name);
    const transitions: Transition[] = [];
    if (node) {
      const step = incidentStep(node, source, reason);
      const taken = this.take(node.name, step, extra, { source, reason });
      if (taken) transitions.push(...this.cluster.setSchedulability(name, taken.schedulability, taken.reason));
    }
    await this.apply(transitions, [], [], extra);
  }

  /** Told to stop and requeue the gangs on a node whose verdicts ask for evict (after the cordon is stored). */
  onEvict(listener: (node: string, checks: string[]) => void): void {
    this.evictListeners.push(listener);
  }

  /**
   * Keeps a diagnostic's outcome on the node record with its event; `returnNode` uncordons it
   * (schedulable, reason '') with a 'returned' event. The updated record; undefined for an unknown node.
   */
  async recordDiagnostic(name: string, diagnostic: NodeDiagnostic, outcome: { result: 'passed' | 'failed' | 'error'; todo: string; returnNode: boolean }): Promise<NodeRecord | undefined> {
    const before = this.cluster.get(name);
    if (!before || !this.cluster.setDiagnostic(name, diagnostic)) return undefined;
    const base = { v: EVENT_SCHEMA_VERSION, at: new Date(this.clock.nowMs()).toISOString(), kind: 'node' as const, node: name };
    const extra: NodeEvent[] = [
      { ...base, id: randomUUID(), type: 'diagnostic', result: outcome.result, command: diagnostic.command, summary: diagnostic.summary, tries: diagnostic.tries, ...(outcome.todo ? { todo: outcome.todo } : {}) },
    ];
    const transitions = outcome.returnNode ? this.cluster.setSchedulability(name, 'schedulable', '') : [];
    if (transitions.length > 0) extra.push({ ...base, id: randomUUID(), type: 'returned', after: before.schedulabilityReason });
    await this.apply(transitions, [name], [], extra);
    return this.cluster.get(name);
  }
  /** Listeners for transitions, after they are stored (the job manager reacts to lost nodes). */
  onTransition(listener: (t: Transition) => void): void {
    this.listeners.push(listener);
  }

  /**
   * A policy step's new schedulability, or undefined when there is none or the breaker holds it
   * back (then a breaker event joins `events`, once per held-back action). `incident`: the step is
   * an incident's drain, kept held back until taken.
   */
  private take(name: string, step: PolicyStep, events: NodeEvent[], incident?: HeldBack['incident']): PolicyStep['set'] {
    if (!step.set) {
      // Nothing to take out (the node is out already, or nothing asks): nothing is held back.
      this.release(name);
      return undefined;
    }
    if (step.takesOut) {
      const d = breakerDecision(this.cluster.list(), name, this.health.maxAutoDrainShare);
      if (!d.allowed) {
        const action = step.action === 'none' ? 'drain' : step.action;
        const prev = this.heldBack.get(name);
        const held: HeldBack = { action, wanted: step.set.reason, ...(incident ? { incident } : prev?.incident ? { incident: prev.incident } : {}) };
        this.heldBack.set(name, held);
        if (!prev || prev.wanted !== held.wanted) {
          this.health.metrics?.breakerHeldBack.inc({ action });
          events.push({ ...this.eventBase(name), type: 'breaker', action, wanted: step.set.reason, why: d.why ?? '' });
          this.log.warn({ node: name, event: 'breaker', action, wanted: step.set.reason }, `circuit breaker: not taking node ${name} out (${action}, ${step.set.reason}): ${d.why}`);
        }
        this.health.metrics?.breakerOpen.set(1);
        return undefined;
      }
    }
    this.release(name);
    return step.set;
  }

  private release(name: string): void {
    if (!this.heldBack.delete(name)) return;
    this.health.metrics?.breakerOpen.set(this.heldBack.size > 0 ? 1 : 0);
  }

  /**
   * Health policy for the nodes in `evaluate` and those with a health transition (see
   * scheduler/health/policy.ts): their schedulability transitions, breaker events, and the evictions to carry out.
   */
  private policy(transitions: Transition[], evaluate: readonly string[], events: NodeEvent[]): Array<{ node: string; checks: string[] }> {
    const names = new Set(evaluate);
    for (const t of transitions) if (t.type === 'health') names.add(t.node.name);
    const evictions: Array<{ node: string; checks: string[] }> = [];
    for (const name of names) {
      const n = this.cluster.get(name);
      if (!n) continue;
      const step = verdictStep(n);
      // A diagnostic in flight returns the node itself when it passes: policy does not lift its cordon meanwhile.
      if (step.set?.schedulability === 'schedulable' && this.holdsReturn(name)) continue;
      const held = this.heldBack.get(name);
      // No verdict asks for anything: an incident's drain held back is tried again.
      if (step.action === 'none' && held?.incident && n.schedulability === 'schedulable') {
        const set = this.take(name, incidentStep(n, held.incident.source, held.incident.reason), events, held.incident);
        if (set) transitions.push(...this.cluster.setSchedulability(name, set.schedulability, set.reason));
        continue;
      }
      const set = this.take(name, step, events);
      if (set) transitions.push(...this.cluster.setSchedulability(name, set.schedulability, set.reason));
      // Evict only once the node is out (taken out now, or out already): not while the breaker holds it back.
      if (step.evict && (set || !step.takesOut)) evictions.push({ node: name, checks: step.checks });
    }
    return evictions;
  }

  private async apply(transitions: Transition[], alsoPersist: readonly string[], evaluate: readonly string[] = [], extraEvents: NodeEvent[] = []): Promise<void> {
    const policyEvents: NodeEvent[] = [...extraEvents];
    const evictions = this.policy(transitions, evaluate, policyEvents);
    const touched = new Map<string, NodeRecord>();
    for (const t of transitions) touched.set(t.node.name, this.cluster.get(t.node.name) ?? t.node);
    for (const name of alsoPersist) {
      const n = this.cluster.get(name);
      if (n) touched.set(name, n);
    }
    // The events go into the outbox in the same transaction as the nodes they describe.
    const events: NodeEvent[] = [...policyEvents];
    for (const t of transitions) {
      const e = this.toEvent(t);
      if (e) events.push(e);
    }
    const usage = this.nodeHistory?.changes(touched.values(), this.clock.nowMs()) ?? [];
    if (touched.size > 0 || events.length > 0) await this.store.commit(usage.length > 0 ? { nodes: [...touched.values()], events, usage } : { nodes: [...touched.values()], events });
    for (const e of events) this.log.info({ node: e.node, event: e.type }, `node ${e.type}`);
    this.events.committed(events);
    for (const t of transitions) for (const l of this.listeners) l(t);
    for (const e of evictions) for (const l of this.evictListeners) l(e.node, e.checks);
  }

  private eventBase(node: string): { v: typeof EVENT_SCHEMA_VERSION; id: string; at: string; kind: 'node'; node: string } {
    return { v: EVENT_SCHEMA_VERSION, id: randomUUID(), at: new Date(this.clock.nowMs()).toISOString(), kind: 'node', node };
  }

  private toEvent(t: Transition): NodeEvent | undefined {
    const base = this.eventBase(t.node.name);
    switch (t.type) {
      case 'registered':
        return { ...base, type: 'registered', gpuCount: t.node.inventory.gpus.length, agentVersion: t.node.agentVersion };
      case 'back':
        return { ...base, type: 'back', downForMs: t.downForMs };
      case 'lost':
        return { ...base, type: 'lost', lastSeen: new Date(t.node.lastSeenMs).toISOString() };
      case 'health':
        return {
          ...base,
          type: 'health',
          health: t.node.health,
          checks: t.node.verdicts.filter((v) => v.severity !== 'ok').map((v) => v.check),
        };
      case 'schedulability':
        return { ...base, type: 'schedulability', schedulability: t.node.schedulability, reason: t.node.schedulabilityReason };
      case 'approved':
        return { ...base, type: 'approved' };
      case 'deleted':
        return { ...base, type: 'deleted' };
      case 'reconnected':
        return undefined;
    }
  }
}
