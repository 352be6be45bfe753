/**
 * Wires the pure ClusterModel to the world: persists what changed, publishes node events, counts.
 * One instance per scheduler; the gRPC handlers and the sweep timer call it.
 */
import { randomUUID } from 'node:crypto';
import type { NodeDiagnostic, NodeRecord, Schedulability } from '../shared/domain/index.js';
import type { Clock } from '../shared/clock/index.js';
import type { NodeEvent } from '../shared/events/index.js';
import { EVENT_SCHEMA_VERSION } from '../shared/events/index.js';
import type { Logger } from '../shared/log/index.js';
import type { ClusterModel, Registration, ReportUpdate, Transition } from './cluster/index.js';
import type { EventBus } from './events/index.js';
import type { StateStore } from './store/index.js';

/** Cordon reasons set by health policy start with this, so policy can lift its own cordons. */
export const HEALTH_CORDON_PREFIX = 'health: ';

export class NodeRegistry {
  private readonly listeners: Array<(t: Transition) => void> = [];
  /**
   * Set by the diagnostics shell (scheduler/diagnostics): true for a node whose diagnostic is in
   * flight. Health policy then leaves its cordon alone; the diagnostic's answer returns the node
   * (one return, not two).
   */
  holdsReturn: (name: string) => boolean = () => false;

  constructor(
    readonly cluster: ClusterModel,
    private readonly store: StateStore,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  load(restartGraceMs: number): number {
    const records = this.store.listNodes();
    this.cluster.load(records, this.clock.nowMs(), restartGraceMs);
    return records.length;
  }

  async register(reg: Registration): Promise<NodeRecord> {
    const transitions = this.cluster.register(reg, this.clock.nowMs());
    await this.apply(transitions, [reg.name]);
    return this.cluster.get(reg.name)!;
  }

  async report(name: string, update: ReportUpdate): Promise<void> {
    const transitions = this.cluster.report(name, update, this.clock.nowMs());
    // A changed inventory or verdict list is persisted even when no transition follows from it.
    const changed = update.inventory !== undefined || update.verdicts !== undefined;
    await this.apply(transitions, changed ? [name] : []);
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
    const events = transitions.map((t) => this.toEvent(t)!);
    await this.store.commit({ events });
    for (const e of events) this.log.info({ node: e.node, event: e.type }, `node ${e.type}`);
    this.events.committed(events);
    for (const t of transitions) for (const l of this.listeners) l(t);
    return true;
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
    await this.apply(transitions, [name], extra);
    return this.cluster.get(name);
  }

  /** A node left out of placement because its record cannot be used: a node event (type excluded) with why. */
  async excluded(name: string, reason: string): Promise<void> {
    const base = { v: EVENT_SCHEMA_VERSION, id: randomUUID(), at: new Date(this.clock.nowMs()).toISOString(), kind: 'node' as const, node: name };
    const event: NodeEvent = { ...base, type: 'excluded', reason };
    await this.store.commit({ events: [event] });
    this.log.warn({ node: name, event: 'excluded', reason }, `node ${name} is left out of placement: ${reason}`);
    this.events.committed([event]);
  }

  /** Listeners for transitions, after they are stored (the job manager reacts to lost nodes). */
  onTransition(listener: (t: Transition) => void): void {
    this.listeners.push(listener);
  }

  private async apply(transitions: Transition[], alsoPersist: readonly string[], extra: readonly NodeEvent[] = []): Promise<void> {
    // Health policy: a node with a fail verdict is cordoned with the reason; policy lifts only its own cordons.
    for (const t of [...transitions]) {
      if (t.type !== 'health') continue;
      const n = t.node;
      if (n.health === 'fail' && n.schedulability === 'schedulable') {
        const checks = n.verdicts.filter((v) => v.severity === 'fail').map((v) => `${v.check}${v.gpu !== undefined ? ` gpu ${v.gpu}` : ''}`);
        transitions.push(...this.cluster.setSchedulability(n.name, 'cordoned', HEALTH_CORDON_PREFIX + checks.join(', ')));
      } else if (n.health !== 'fail' && n.schedulability === 'cordoned' && n.schedulabilityReason.startsWith(HEALTH_CORDON_PREFIX) && !this.holdsReturn(n.name)) {
        transitions.push(...this.cluster.setSchedulability(n.name, 'schedulable', ''));
      }
    }
    const touched = new Map<string, NodeRecord>();
    for (const t of transitions) touched.set(t.node.name, this.cluster.get(t.node.name) ?? t.node);
    for (const name of alsoPersist) {
      const n = this.cluster.get(name);
      if (n) touched.set(name, n);
    }
    // The events go into the outbox in the same transaction as the nodes they describe.
    const events: NodeEvent[] = [];
    for (const t of transitions) {
      const e = this.toEvent(t);
      if (e) events.push(e);
    }
    events.push(...extra);
    if (touched.size > 0 || events.length > 0) await this.store.commit({ nodes: [...touched.values()], events });
    for (const e of events) this.log.info({ node: e.node, event: e.type }, `node ${e.type}`);
    this.events.committed(events);
    for (const t of transitions) for (const l of this.listeners) l(t);
  }

  private toEvent(t: Transition): NodeEvent | undefined {
    const base = { v: EVENT_SCHEMA_VERSION, id: randomUUID(), at: new Date(this.clock.nowMs()).toISOString(), kind: 'node' as const, node: t.node.name };
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
