/**
 * One scheduling cycle's changes, as a batch of lifecycle outcomes for the manager to commit:
 * stopped ranks past their grace freed, drains past their deadline requeued, requeued jobs whose
 * backoff is over made pending, then the plan (planner.ts) applied: starts placed, victims
 * preempted, replicas placed or waiting, unplaceable jobs failed, and why every other pending
 * job waits (explanations). Also what makes a pending job worth trying again: the capacity
 * generation.
 */
import { ACTIVE_JOB_STATES, type JobRecord, type NodeRecord } from '../../shared/domain/index.js';
import type { ClusterModel } from '../cluster/index.js';
import type { Reason } from '../placement/index.js';
import { DEFAULT_QUEUE, decayedUsage, type QueueConfig } from '../queue/index.js';
import type { Agents } from './agents.js';
import { Batch } from './batch.js';
import { ranksOf, type ClusterView } from './cluster-view.js';
import { step, type LifecycleContext } from './lifecycle.js';
import { LocalityClock, type LocalityWaitPolicy } from './locality-wait.js';
import { beyondDepthText, DEFAULT_QUEUE_DEPTH_JOBS, planCycle, type ReservationDecision } from './planner.js';
import { missingReplicas, replicaPlaced, replicaWaits } from './replicas.js';
import type { Jobs } from './table.js';

export interface Explanation {
  reasons: Reason[];
  text: string;
  /** The capacity generation the job failed to fit at (see Cycles.capacityGen). */
  gen: number;
}

export interface CycleOptions {
  masterPortRange: { min: number; max: number };
  queues: Record<string, QueueConfig>;
  fairShareHalfLifeMs: number;
  /** placement.localityWait (locality-wait.ts); absent: off. */
  localityWait?: LocalityWaitPolicy;
  /** jobs.queueDepthJobs: pending jobs looked at per cycle (planner.ts PlanInput.queueDepth); absent: its default. */
  queueDepthJobs?: number;
}

export class Cycles {
  /** Why each pending job waits, from the last cycle that tried it. */
  readonly explanations = new Map<string, Explanation>();
  /**
   * Bumped whenever capacity may have grown: a gang left the active states (its GPUs and port are
   * free), or a node's capacity inputs changed (connectivity, schedulability, health, verdicts,
   * inventory, labels; compared by identity, so a re-registration counts). A pending job that did
   * not fit at this generation is not tried again until it changes: with less or equal capacity it
   * cannot fit, and re-placing every pending job on every submit made submits quadratic.
   */
  capacityGen = 0;
  /** The last cycle's reservation decision and the capacity generation it was made at. */
  private lastDecision: { gen: number; decision: ReservationDecision | null } | undefined;
  /** Placements tried so far (tests and metrics). */
  placementsTried = 0;
  /**
   * Gangs waiting for their minimal domain: when each wait started (in memory: a restarted or new
   * leader starts counting again; the cap counts from the job record). Their explanations are
   * never "unchanged": time alone ends a wait. A change in the draining domains held frees or
   * takes GPUs no capacity event reports: it bumps the capacity generation.
   */
  private readonly locality: LocalityClock;

  constructor(
    private readonly opts: CycleOptions,
    private readonly jobs: Jobs,
    private readonly agents: Agents,
    private readonly view: ClusterView,
    private readonly cluster: ClusterModel,
  ) {
    this.locality = new LocalityClock(opts.localityWait);
  }

  private queue(name: string): QueueConfig {
    return this.opts.queues[name] ?? DEFAULT_QUEUE;
  }

  /** The changes of a cycle at `ctx.nowMs`, and the node records its starts were planned on. */
  plan(ctx: LifecycleContext): { batch: Batch; nodes?: Map<string, NodeRecord> } {
    const now = ctx.nowMs;
    const batch = new Batch();
    const current = (j: JobRecord): JobRecord => batch.get(j.id) ?? j;
    if (this.agents.expire(now) > 0) this.capacityGen++;
    // Drains past their deadline: gangs still on those nodes stop and are requeued (no retry used).
    for (const n of this.cluster.draining()) {
      if (!n.drainDeadlineMs || n.drainDeadlineMs > now) continue;
      for (const j of this.jobs.live()) {
        if (batch.get(j.id) || !j.ranks.some((r) => r.node === n.name && r.state !== 'exited')) continue;
        batch.add(j, step(j, { type: 'drain-deadline', node: n.name }, ctx));
      }
    }
    // Requeued jobs whose backoff is over are pending again.
    for (const j of this.jobs.live()) if (j.state === 'requeued' && j.requeueAtMs <= now) batch.add(j, step(j, { type: 'backoff-over' }, ctx));
    // A held job (its prolog failed on too many nodes) waits for an operator's release, out of scheduling.
    const pending = [...this.jobs.live()].map(current).filter((j) => j.state === 'pending' && !j.held);
    const grow = missingReplicas(this.jobs.live());
    if (pending.length === 0 && grow.length === 0) return { batch };

    const at = this.view.snapshot(this.jobs.live(), this.agents.stopping());
    if (this.view.nodeInputsChanged(at.byName)) this.capacityGen++;
    const gen = this.capacityGen;
    const plan = planCycle({
      grow,
      // Failed (placement and preemption) at this capacity and with these gangs running: it cannot fit now either.
      unchanged: (job) => this.explanations.get(job.id)?.gen === gen,
      previous: this.lastDecision?.gen === gen ? this.lastDecision.decision : null,
      nowMs: now,
      tree: at.tree,
      snapshot: at.snapshot,
      pending,
      // The records as this cycle's batch left them (a drain deadline earlier in it may have requeued a gang).
      active: [...this.jobs.live()].map(current).filter((j) => ACTIVE_JOB_STATES.has(j.state)),
      awaitingVictims: this.agents.awaitingVictims(),
      stoppingPorts: this.agents.stoppingPorts(),
      queues: (name) => this.queue(name),
      usage: decayedUsage(this.jobs.all(), now, this.opts.fairShareHalfLifeMs),
      halfLifeMs: this.opts.fairShareHalfLifeMs,
      masterPorts: { range: this.opts.masterPortRange, reserved: at.ports },
      localityWait: this.locality.input(),
      queueDepth: this.opts.queueDepthJobs ?? DEFAULT_QUEUE_DEPTH_JOBS,
    });
    const stillPending = (id: string): boolean => {
      const j = this.jobs.peek(id);
      return j !== undefined && current(j).state === 'pending';
    };
    if (this.locality.after(plan, stillPending)) this.capacityGen++;
    this.placementsTried += plan.tried;
    this.lastDecision = { gen, decision: plan.decision };
    for (const { job, message } of plan.failures) {
      const base = current(job);
      batch.add(base, step(base, { type: 'unplaceable', message }, ctx));
    }
    for (const [id, w] of plan.waiting) {
      const r = plan.reservation?.jobId === id ? plan.reservation : null;
      const note = r
        ? `\nreserved: ${r.gpus} GPUs held for it${Number.isFinite(r.atMs) ? `; by the running jobs' time limits it starts by ${new Date(r.atMs).toISOString()}` : ''}; smaller jobs backfill only if their time limit ends before then`
        : '';
      if (w.skipped && this.explanations.has(id)) continue;
      this.explanations.set(id, { reasons: w.reasons, text: w.text.replace(/\n$/, '') + note, gen: this.locality.waiting(id) ? -1 : gen });
    }
    if (plan.beyondDepth > 0) this.explainBeyondDepth(pending, plan, gen);
    for (const p of plan.preemptions) {
      const v = current(this.jobs.peek(p.victim.id)!);
      const by = { id: p.preemptor.id, priority: p.preemptor.spec.priority, queue: p.preemptor.spec.queue };
      batch.add(v, step(v, { type: 'preempted', by, lostWorkGpuMs: p.lostWorkGpuMs }, ctx));
    }
    for (const { job, unit, placement, masterPort } of plan.grown) {
      const base = current(job);
      this.explanations.delete(job.id);
      batch.add(base, replicaPlaced(base, unit, ranksOf([placement], at), masterPort || job.masterPort, ctx));
    }
    for (const [id, why] of plan.growWaiting) {
      const j = current(this.jobs.peek(id)!);
      this.explanations.set(id, { reasons: [], text: `a replica waits: ${why}`, gen });
      batch.add(j, replicaWaits(j, why, ctx));
    }
    for (const { job, placements, masterPorts } of plan.starts) {
      const ranks = ranksOf(placements, at);
      for (const r of ranks) r.masterPort = masterPorts[r.unit] ?? 0;
      this.explanations.delete(job.id);
      batch.add(current(job), step(current(job), { type: 'placed', ranks, replicas: placements.length }, ctx));
    }
    return { batch, nodes: at.byName };
  }

  /**
   * Pending jobs beyond the queue depth wait, not tried this cycle. One that failed at this very
   * capacity keeps its reasons (still true); the others are worded so, at no generation, so the
   * cycle that reaches them tries them.
   */
  private explainBeyondDepth(pending: readonly JobRecord[], plan: ReturnType<typeof planCycle>, gen: number): void {
    const handled = new Set<string>(plan.waiting.keys());
    for (const s of plan.starts) handled.add(s.job.id);
    for (const f of plan.failures) handled.add(f.job.id);
    const depth = this.opts.queueDepthJobs ?? DEFAULT_QUEUE_DEPTH_JOBS;
    const text = beyondDepthText(depth);
    for (const j of pending) {
      if (handled.has(j.id) || this.explanations.get(j.id)?.gen === gen) continue;
      this.explanations.set(j.id, { reasons: [{ level: 'queue', reason: 'beyond the queue depth', count: 1 }], text, gen: -1 });
    }
  }

  /** Why a pending job waits, from the last cycle that tried it. */
  explanation(id: string): Explanation | undefined {
    return this.explanations.get(id);
  }
}
