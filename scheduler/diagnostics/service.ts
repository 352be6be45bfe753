/**
 * Diagnostics and return, the shell around policy.ts: on every sweep tick it asks the policy about
 * each node drained for health, sends RunDiagnostic to the ones whose turn it is, and applies the
 * agents' DiagnosticResult answers (keep the outcome on the node record, return the node on a
 * pass, say what to do on a failure). Per-node tries live here, seeded from the node records at
 * the first look, so a restarted scheduler goes on counting from the last diagnostic it kept.
 */
import { randomUUID } from 'node:crypto';
import type { Counter } from 'prom-client';
import type { NodeRecord } from '../../shared/domain/index.js';
import type { Clock } from '../../shared/clock/index.js';
import type { Logger } from '../../shared/log/index.js';
import type { Transition } from '../cluster/index.js';
import type { NodeRegistry } from '../node-registry.js';
import { decideDiagnostic, diagnosticOutcome, HEALTH_REASON_PREFIX, isHealthDrained, type DiagnosticAnswer, type DiagnosticPolicy } from './policy.js';

export interface DiagnosticsDeps {
  registry: NodeRegistry;
  /** Sends RunDiagnostic on the node's stream; false when it has none. */
  send(node: string, run: { requestId: string; reason: string }): boolean;
  /** Ranks on the node that keep it busy (active jobs' ranks not exited). */
  busyRanks(node: string): number;
  clock: Clock;
  log: Logger;
  /** gantry_scheduler_node_diagnostics_total{result}. */
  counted: Counter<'result'>;
}

/** What the answer's DiagnosticResult carries (scheduler/api/agent-service.ts converts it). */
export interface DiagnosticResultView extends DiagnosticAnswer {
  requestId: string;
  startedMs: number;
}

interface NodeTries {
  tries: number;
  lastTryMs: number | null;
  lastReturnMs: number | null;
  inFlight: { requestId: string; sinceMs: number; attempt: number; reason: string } | null;
}

export class NodeDiagnostics {
  private readonly nodes = new Map<string, NodeTries>();
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly policy: DiagnosticPolicy,
    private readonly deps: DiagnosticsDeps,
  ) {
    deps.registry.holdsReturn = (name) => this.nodes.get(name)?.inFlight != null;
    deps.registry.onTransition((t) => this.onTransition(t));
  }

  /** One look at every node (the sweep timer calls it); never two at once. */
  tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = this.look().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  /** The agent's answer; late, unknown or another node's answers are ignored (logged). */
  async onResult(node: string, r: DiagnosticResultView): Promise<void> {
    const s = this.nodes.get(node);
    if (!s?.inFlight || s.inFlight.requestId !== r.requestId) {
      this.deps.log.warn({ node, requestId: r.requestId }, 'a diagnostic result that was not asked for (late, or from before a reconnect); ignored');
      return;
    }
    await this.finish(node, s, r);
  }

  private async look(): Promise<void> {
    const { registry, clock } = this.deps;
    for (const n of registry.cluster.list()) {
      const s = this.seeded(n);
      if (!s) continue;
      const nowMs = clock.nowMs();
      // Ranks are counted only for candidates: listing jobs for every node each tick costs for nothing.
      const d = decideDiagnostic(
        {
          schedulability: n.schedulability,
          reason: n.schedulabilityReason,
          connectivity: n.connectivity,
          awaitingApproval: n.awaitingApproval === true,
          busyRanks: s.inFlight ? 0 : this.deps.busyRanks(n.name),
          tries: s.tries,
          lastTryMs: s.lastTryMs,
          lastReturnMs: s.lastReturnMs,
          inFlightSinceMs: s.inFlight?.sinceMs ?? null,
          nowMs,
        },
        this.policy,
      );
      if (d.action === 'run') this.run(n, s, d.attempt, nowMs);
      else if (d.action === 'expire' && s.inFlight) {
        await this.finish(n.name, s, { requestId: s.inFlight.requestId, passed: false, command: '', outputTail: '', error: `no answer within ${this.policy.answerGraceMs} ms`, startedMs: s.inFlight.sinceMs, finishedMs: nowMs });
      }
    }
  }

  /** The node's tries, seeded from its record the first time it is seen drained for health. */
  private seeded(n: NodeRecord): NodeTries | undefined {
    let s = this.nodes.get(n.name);
    if (s) return s;
    if (!isHealthDrained(n.schedulability, n.schedulabilityReason)) return undefined;
    const last = n.lastDiagnostic;
    s = {
      tries: last && !last.passed ? last.tries : 0,
      lastTryMs: last && !last.passed ? last.atMs : null,
      lastReturnMs: last?.passed ? last.atMs : null,
      inFlight: null,
    };
    this.nodes.set(n.name, s);
    return s;
  }

  private run(n: NodeRecord, s: NodeTries, attempt: number, nowMs: number): void {
    const requestId = randomUUID();
    if (!this.deps.send(n.name, { requestId, reason: n.schedulabilityReason })) return; // not connected now: the next tick tries again
    s.inFlight = { requestId, sinceMs: nowMs, attempt, reason: n.schedulabilityReason };
    this.deps.log.info({ node: n.name, attempt, maxTries: this.policy.maxTries, reason: n.schedulabilityReason }, 'running the diagnostic of a node drained for health');
  }

  private async finish(node: string, s: NodeTries, r: DiagnosticResultView): Promise<void> {
    const { registry, log } = this.deps;
    const attempt = s.inFlight?.attempt ?? s.tries + 1;
    s.inFlight = null;
    const n = registry.cluster.get(node);
    if (!n) return;
    const remedies = n.verdicts.filter((v) => v.severity === 'fail' && v.remedy).map((v) => v.remedy!);
    // A pass returns the node only when it is still drained for health and no fail verdict is left
    // (a fail that is not sticky, such as a hot GPU, is not the diagnostic's to clear).
    const failing = n.verdicts.filter((v) => v.severity === 'fail');
    const o = diagnosticOutcome(node, r, attempt, this.policy.maxTries, remedies, isHealthDrained(n.schedulability, n.schedulabilityReason) && failing.length === 0);
    // Health policy held its lift while the diagnostic ran. Without a verdict from it (an error: none
    // configured, could not run, unanswered), a health cordon whose verdicts went non-fail meanwhile
    // is lifted as health policy would have; a diagnostic that ran and failed keeps the node drained.
    const lift = o.result === 'error' && n.schedulability === 'cordoned' && n.schedulabilityReason.startsWith(HEALTH_REASON_PREFIX) && n.health !== 'fail';
    const todo = lift
      ? `the diagnostic gave no verdict (${o.record.summary}); the node is healthy again and health policy lifts its cordon`
      : o.result === 'passed' && failing.length > 0
        ? `diagnostic passed but the node still reports ${failing.map((v) => v.check).join(', ')}; it stays drained`
        : o.todo;
    this.deps.counted.inc({ result: o.result });
    const nowMs = this.deps.clock.nowMs();
    if (o.returnNode || lift || !isHealthDrained(n.schedulability, n.schedulabilityReason)) {
      // Returned, lifted, or uncordoned by a person meanwhile: the next drain counts afresh.
      s.tries = 0;
      s.lastTryMs = null;
      if (o.returnNode) s.lastReturnMs = nowMs;
    } else {
      s.tries = attempt;
      s.lastTryMs = nowMs;
    }
    await registry.recordDiagnostic(node, o.record, { result: o.result, todo, returnNode: o.returnNode });
    if (lift) {
      await registry.setSchedulability(node, 'schedulable', '');
      log.info({ node, summary: o.record.summary }, `node ${node}: ${todo}`);
    } else if (o.returnNode) log.info({ node, command: o.record.command, after: n.schedulabilityReason }, `node ${node} passed its diagnostic and is returned to service`);
    else if (o.result === 'passed') log.warn({ node, todo }, todo);
    else log.error({ node, result: o.result, command: o.record.command, summary: o.record.summary, attempt, maxTries: this.policy.maxTries }, `diagnostic ${o.result}: ${todo}`);
  }

  private onTransition(t: Transition): void {
    const s = this.nodes.get(t.node.name);
    if (!s) return;
    if (t.type === 'deleted') {
      this.nodes.delete(t.node.name);
      return;
    }
    // The agent that was asked went away (or restarted): its answer will not come.
    if (s.inFlight && (t.type === 'lost' || t.type === 'back' || t.type === 'reconnected' || t.type === 'registered')) {
      const { requestId, sinceMs } = s.inFlight;
      void this.finish(t.node.name, s, { requestId, passed: false, command: '', outputTail: '', error: `the agent went away (${t.type}) before it answered`, startedMs: sinceMs, finishedMs: this.deps.clock.nowMs() }).catch((e: unknown) =>
        this.deps.log.error({ node: t.node.name, err: (e as Error).message }, 'recording an unanswered diagnostic failed'),
      );
      return;
    }
    // A drain ends when the node is schedulable again (a pass, or an operator's uncordon): the next drain counts afresh.
    if (t.type === 'schedulability' && t.node.schedulability === 'schedulable' && !s.inFlight) {
      s.tries = 0;
      s.lastTryMs = null;
    }
  }

  /** The nodes whose diagnostic is in flight (tests, gantry node). */
  inFlight(node: string): boolean {
    return this.nodes.get(node)?.inFlight != null;
  }
}
