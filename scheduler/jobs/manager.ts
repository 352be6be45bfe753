/**
 * Jobs from submit to finish: the shell around the pure lifecycle (lifecycle.ts). Every change
 * is the same four steps, one change at a time: load the record, call the lifecycle (or a cycle's
 * plan of them, cycle.ts), commit the new records with their events in one store transaction,
 * and only then send the commands to the agents (agents.ts) and publish the events. A change with
 * neither commands nor events (a rank reported running) is written behind (table.ts).
 *
 * Files: table.ts (the job table, loading, writes), loop.ts (one change at a time; when cycles
 * run), cycle.ts (a scheduling cycle's batch of outcomes; batch.ts), planner.ts (the plan, pure),
 * cluster-view.ts (tree, snapshot, topology view), agents.ts (commands to agents, stopped ranks'
 * GPUs), admission.ts (submit checks), request-ids.ts (SubmitJob's idempotency keys),
 * lifecycle.ts and replicas.ts (transitions, pure), health-evictions.ts (a node's evictions, pure). About 470 lines, over the usual 400: the shell's entry points in one class.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../shared/clock/index.js';
import { ACTIVE_JOB_STATES, jobRunAs, rankEpoch, type JobFaultRecord, type JobRecord, type RankUsageEntry } from '../../shared/domain/index.js';
import { FailedPreconditionError } from '../../shared/errors/index.js';
import { EVENT_SCHEMA_VERSION, type GantryEvent, type JobEvent } from '../../shared/events/index.js';
import { parseJobSpec, type JobSpec, type ParseJobSpecOptions } from '../../shared/jobspec/index.js';
import type { Logger } from '../../shared/log/index.js';
import type { ClusterTopologyView, TaskCommandView, TaskStatusView } from '../../shared/wire/index.js';
import type { ClusterModel, Transition } from '../cluster/index.js';
import type { EventBus } from '../events/index.js';
import type { Reason } from '../placement/index.js';
import type { QueueConfig } from '../queue/index.js';
import type { StateStore } from '../store/index.js';
import type { DegradedMode, TopologyTree } from '../topology/index.js';
import { checkQuota, checkRunAsAllowed, checkSpec } from './admission.js';
import { Agents } from './agents.js';
import { Batch } from './batch.js';
import { usesRetry } from './causes.js';
import { ClusterView, type ExclusionListener } from './cluster-view.js';
import { Cycles } from './cycle.js';
import type { LocalityWaitPolicy } from './locality-wait.js';
import { evictionBatch } from './health-evictions.js';
import { fence, step, submitted, type LifecycleContext, type Outcome } from './lifecycle.js';
import type { FaultApplied } from './faults.js';
import { scaled } from './replicas.js';
import { CycleLoop } from './loop.js';
import { madeBy } from './request-ids.js';
import { Jobs } from './table.js';

export interface JobManagerOptions {
  /** Topology levels above the node, finest first. */
  levels: string[];
  masterPortRange: { min: number; max: number };
  requeueInitialMs: number;
  requeueMaxMs: number;
  /** Timer-driven cycles (requeue deadlines, retries). */
  cycleIntervalMs: number;
  /** Named queues; a job naming another queue is refused. */
  queues: Record<string, QueueConfig>;
  /** Fair share: usage older by this much weighs half. */
  fairShareHalfLifeMs: number;
  /** After a stop is sent, a rank's GPUs stay taken until its exit is reported, or its grace period plus this. */
  stopSlackMs: number;
  /**
   * Rank reports that need no command (a rank running) are written behind, one write per job for
   * all changes since the last; writes start at most this often (default 25 ms). 0: one write per
   * turn of the event loop.
   */
  writeBehindIntervalMs?: number;
  /** Spec size, nesting and alias limits and the most ranks, shards and replicas per job (defaults: parseJobSpec's). */
  specLimits?: ParseJobSpecOptions;
  /** A job is held once its prolog failed on this many distinct nodes (health.prologFailuresToHold; default 3). */
  prologFailuresToHold?: number;
  /** placement.localityWait (locality-wait.ts); absent: off. */
  localityWait?: LocalityWaitPolicy;
  /** jobs.queueDepthJobs: pending jobs looked at per scheduling cycle (planner.ts); absent: its default. */
  queueDepthJobs?: number;
}

/** Whose job a submit makes, as the API authorized it. */
export interface Submitter {
  owner: string;
  /** The verified caller's name. */
  submittedBy: string;
  /** The Unix account its ranks run as ('' = the agent's own). */
  runAs: string;
}

export interface JobManagerDeps {
  store: StateStore;
  cluster: ClusterModel;
  events: EventBus;
  clock: Clock;
  log: Logger;
  /** Sends a command to a node's agent; false when the node has no live stream. */
  send(node: string, cmd: TaskCommandView): boolean;
  /** Domains marked degraded by latency telemetry, and how placement treats them (absent: none). */
  degraded?(): { domains: { level: string; name: string }[]; mode: DegradedMode };
  /** Told when nodes are left out of placement because their records cannot be used (or come back). */
  nodesExcluded?: ExclusionListener;
  /** Metrics (issue 23): rank usage entries that ended, and each scheduling cycle's duration in seconds. */
  onRanksEnded?(entries: readonly RankUsageEntry[]): void;
  observeCycle?(seconds: number): void;
}


/** A task's status as an agent reports it. */
export type TaskReport = Pick<TaskStatusView, 'jobId' | 'rank' | 'epoch' | 'state' | 'exitCode' | 'signal' | 'message' | 'checkpointMs' | 'refusal' | 'endedBy' | 'usage'> & Partial<Pick<TaskStatusView, 'startedMs' | 'finishedMs'>>;

const JOB_ID = /^[a-z0-9][a-z0-9-]{0,62}-\d+$/;

export class JobManager {
  private readonly jobs: Jobs;
  private readonly agents: Agents;
  private readonly view: ClusterView;
  private readonly cycler: Cycles;
  private readonly loop: CycleLoop;
  /** Cycles run so far (tests and metrics). */
  cycles = 0;

  constructor(
    private readonly opts: JobManagerOptions,
    private readonly deps: JobManagerDeps,
  ) {
    this.jobs = new Jobs(deps.store, opts.writeBehindIntervalMs ?? 25, deps.onRanksEnded);
    this.agents = new Agents(deps, opts.stopSlackMs);
    this.view = new ClusterView(opts.levels, deps.cluster, deps.degraded, deps.nodesExcluded);
    this.cycler = new Cycles(opts, this.jobs, this.agents, this.view, deps.cluster);
    this.loop = new CycleLoop(deps.clock, deps.log, (planned) => this.cycle(planned));
  }

  /** Placements tried so far (tests and metrics). */
  get placementsTried(): number {
    return this.cycler.placementsTried;
  }

  /** Loads the unfinished jobs at once (the finished ones follow after start()); returns how many jobs the store holds. */
  load(): number {
    return this.jobs.load();
  }

  start(): void {
    this.checkNodes();
    this.loop.start(this.opts.cycleIntervalMs);
    void this.jobs.loadFinished(() => this.loop.isStopped);
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.jobs.flushed();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.loop.serial(fn);
  }

  get(id: string): JobRecord {
    return this.jobs.get(id);
  }

  list(filter: { state?: string; queue?: string; owner?: string } = {}): JobRecord[] {
    return this.jobs.list(filter);
  }

  private ctx(nowMs = this.deps.clock.nowMs()): LifecycleContext {
    return { nowMs, requeueInitialMs: this.opts.requeueInitialMs, requeueMaxMs: this.opts.requeueMaxMs, ...(this.opts.prologFailuresToHold ? { prologFailuresToHold: this.opts.prologFailuresToHold } : {}) };
  }

  /**
   * Validates, refuses a job whose account no node allows or that could not fit even on an empty
   * cluster, stores it pending. `owner`: the owner's name, or the API's authorization of the parsed
   * spec (it throws to refuse, after the spec's own checks and before the capacity ones), which also
   * says who submitted it and the account its ranks run as. `requestId` (idempotency key, '' none):
   * the job this submitter's request id already made is returned as it is now (request-ids.ts).
   */
  async submit(specText: string, owner: string | ((spec: JobSpec) => Submitter), requestId = ''): Promise<JobRecord> {
    const spec = parseJobSpec(specText, this.opts.specLimits);
    const queue = checkSpec(spec, this.opts.queues, this.opts.masterPortRange);
    const who = typeof owner === 'string' ? { owner } : owner(spec);
    if (!requestId) return this.create(spec, queue, who);
    await this.jobs.allLoaded();
    const submitter = 'submittedBy' in who ? who.submittedBy : who.owner;
    return this.jobs.requestIds.once(submitter, requestId, () => this.create(spec, queue, who, requestId), (id) => madeBy(this.get(id), spec.name, requestId));
  }

  private async create(spec: JobSpec, queue: QueueConfig, who: Submitter | { owner: string }, requestId = ''): Promise<JobRecord> {
    const by = 'submittedBy' in who ? { submittedBy: who.submittedBy, runAs: who.runAs } : undefined;
    // The record as it would be stored, checked before it takes an id: its account is the record's (jobRunAs).
    const draft = submitted('', spec, who.owner, this.deps.clock.nowMs(), by);
    const runAs = jobRunAs(draft.job);
    checkRunAsAllowed(runAs, this.deps.cluster.list());
    this.view.checkCouldEverFit(spec, runAs);
    checkQuota(spec, queue);
    const job: JobRecord = { ...draft.job, id: this.jobs.nextId(spec.name), ...(requestId ? { requestId } : {}) };
    const { events } = draft;
    // A new job is nobody else's yet (its id is fresh), so its commit need not wait its turn in the
    // chain: concurrent submits share one LMDB commit instead of paying one each, one after another.
    const made = events.map((type) => this.event(job, type));
    await this.jobs.commit([job], made);
    await this.serial(async () => {
      this.jobs.set(job);
      this.announce(made);
    });
    this.loop.soon('submit');
    return job;
  }

  /** Commits one outcome and carries out its commands (nothing when it changed nothing); a refusal throws FailedPreconditionError. */
  private async apply(job: JobRecord, out: Outcome): Promise<JobRecord> {
    if (out.refused) throw new FailedPreconditionError(out.refused);
    const batch = new Batch();
    batch.add(job, out);
    if (batch.size > 0) await this.commit(batch);
    return out.job;
  }

  async cancel(id: string, reason: string): Promise<JobRecord> {
    this.get(id);
    return this.serial(async () => {
      const job = this.get(id);
      return this.apply(job, step(job, { type: 'cancel', reason }, this.ctx()));
    });
  }

  /** Releases a held job (its prolog failed on too many nodes): it may be placed again; one not held is refused. */
  async release(id: string, by: string): Promise<JobRecord> {
    this.get(id);
    return this.serial(async () => {
      const job = this.get(id);
      return this.apply(job, step(job, { type: 'release', by }, this.ctx()));
    });
  }

  /** A node failed its health checks (action evict): its gangs stop within `withinMs` and are requeued, no retry used; resolves to how many. */
  evictNode(node: string, checks: string[], withinMs: number): Promise<number> {
    return this.serial(async () => {
      const { batch, gangs } = evictionBatch(this.jobs.live(), node, checks, withinMs, this.ctx());
      if (batch.size > 0) await this.commit(batch);
      return gangs;
    });
  }

  /** Sets an inference service's replica count (the autoscaler, or an operator); see replicas.ts scaled. */
  scale(id: string, target: number, reason: string): Promise<JobRecord> {
    return this.serial(async () => {
      const job = this.get(id);
      return this.apply(job, scaled(job, target, reason, this.ctx()));
    });
  }

  explain(id: string): { job: JobRecord; fitsNow: boolean; reasons: Reason[]; text: string } {
    const job = this.get(id);
    if (job.state !== 'pending' || job.held) {
      return { job, fitsNow: ACTIVE_JOB_STATES.has(job.state), reasons: [], text: `job ${id} is ${job.held ? 'held' : job.state}${job.message ? `: ${job.message}` : ''}` };
    }
    const e = this.cycler.explanation(id);
    return { job, fitsNow: false, reasons: e?.reasons ?? [], text: e?.text ?? 'not tried yet: waiting for the next scheduling cycle' };
  }

  /** What `gantry jobs` shows as a job's message: for a pending job, why it waits. */
  displayMessage(job: JobRecord): string {
    if (job.state !== 'pending' || job.held) return job.message;
    const e = this.cycler.explanation(job.id);
    if (!e) return job.message;
    const now = e.text.split('\n')[0]!;
    // Why it left its last run without a retry used (preempted, drained) stays visible beside why it waits now.
    return job.cause && !usesRetry(job.cause) ? `${job.message}; waiting: ${now}` : now;
  }

  /** Asks for a cycle (see CycleLoop). */
  trigger(why: string): void {
    this.loop.trigger(why);
  }

  /** Resolves when every queued change and cycle is done, and written (tests, graceful stop). */
  async idle(): Promise<void> {
    await this.loop.idle();
    await this.jobs.flushed();
  }

  private async cycle(planned: () => void): Promise<void> {
    this.cycles++;
    const t0 = performance.now();
    const { batch, nodes } = this.cycler.plan(this.ctx());
    planned();
    if (batch.size > 0) await this.commit(batch, nodes);
    this.deps.observeCycle?.((performance.now() - t0) / 1000);
  }

  /** A job in memory, undefined when unknown or not loaded yet (metrics). */
  peek(id: string): JobRecord | undefined {
    return this.jobs.peek(id);
  }

  /** Jobs not in a terminal state, in memory (metrics). */
  live(): IterableIterator<JobRecord> {
    return this.jobs.live();
  }

  /** The topology tree of the registered nodes (rebuilt only when the node set changes). */
  topologyTree(): TopologyTree {
    return this.view.topology();
  }

  /** The tree with GPUs per domain: free (placeable now), used (allocated to jobs), unavailable (unhealthy, lost, cordoned...). */
  topologyView(): ClusterTopologyView {
    return this.view.view(this.view.snapshot(this.jobs.live(), this.agents.stopping()));
  }

  /**
   * Commit first, then send: no command leaves before its allocation is durable. Each change's
   * events go into the store's outbox in the same transaction as the change.
   */
  private async commit(batch: Batch, nodes?: Parameters<Agents['run']>[2]): Promise<void> {
    const changed = [...batch.records.values()];
    const events = batch.events.map((e) => this.event(e.job, e.type));
    await this.jobs.commit(
      changed.map((c) => c.job),
      events,
    );
    for (const { job: j } of changed) {
      const prev = this.jobs.peek(j.id);
      // Gangs leaving or starting, replicas placed or lost: pending jobs must be tried again.
      if (prev ? ACTIVE_JOB_STATES.has(prev.state) !== ACTIVE_JOB_STATES.has(j.state) || prev.epoch !== j.epoch || prev.ranks.length !== j.ranks.length : ACTIVE_JOB_STATES.has(j.state)) this.cycler.capacityGen++;
      this.jobs.set(j);
    }
    this.announce(events);
    for (const { job, commands } of changed) for (const c of commands) if (c.kind === 'schedule') this.trigger(c.why); else this.agents.run(job, c, nodes);
  }

  /**
   * A task status from an agent. Reports of another epoch, of a job no longer active, or from a
   * node the rank is not placed on, are refused and the task is stopped there (fencing).
   *
   * Resolves once the report is applied, and for a change with a command or an event once that is
   * committed. One with neither (a rank of a gang running) is written behind without holding up
   * the agent's next message: its stream is handled in order, and waiting for each write made a
   * node's 8 reports wait for 8 writes in a row. Nothing is lost if the scheduler dies first: the
   * restarted scheduler has the rank as starting, and the agent re-announces it running when it
   * reconnects. idle() waits for the writes too.
   */
  onTaskReport(node: string, t: TaskReport): Promise<void> {
    return this.serial(() => this.applyTaskReport(node, t)).then((r) => this.writtenBehind(r, t));
  }

  /** A written-behind report's write, left to finish on its own; a failure is logged. */
  private writtenBehind(r: { durable: Promise<void> } | undefined, t: TaskReport): void {
    r?.durable.catch((e: unknown) =>
      this.deps.log.error({ job: t.jobId, rank: t.rank, err: (e as Error).message }, 'writing a rank report to the store failed; the job is written again with its next change'),
    );
  }

  private async applyTaskReport(node: string, t: TaskReport): Promise<{ durable: Promise<void> } | undefined> {
    const job = this.jobs.peek(t.jobId);
    const alive = t.state === 'running' || t.state === 'starting';
    if (!alive && this.agents.gone(t.jobId, t.rank, t.epoch)) {
      this.cycler.capacityGen++;
      this.trigger('rank gone');
    }
    if (!job) {
      if (alive) this.agents.fence(fence(t.jobId, 30, node, t));
      return undefined;
    }
    const out = step(job, { type: 'rank-reported', node, report: t }, this.ctx());
    if (out.job === job) {
      for (const c of out.commands) this.agents.run(job, c);
      return undefined;
    }
    if (out.commands.length === 0 && out.events.length === 0) return { durable: this.jobs.writeBehind(out.job) };
    await this.apply(job, out);
    return undefined;
  }

  /** An application XID an agent attributed to a rank (faults.ts): lifecycle 'fault' (recorded; an active run requeued). */
  onJobFault(jobId: string, fault: JobFaultRecord): Promise<FaultApplied> {
    return this.serial(async () => {
      const job = this.jobs.peek(jobId);
      if (!job) return 'unknown-job';
      const out = step(job, { type: 'fault', fault }, this.ctx());
      if (out.job === job) return 'not-placed';
      await this.apply(job, out);
      return ACTIVE_JOB_STATES.has(job.state) ? 'requeued' : 'recorded';
    });
  }

  /**
   * An agent (re)registered and re-announced its tasks: adopt what matches, fence what does not,
   * resend starts it never got, and requeue gangs whose running rank it no longer has.
   */
  onAgentRegistered(node: string, tasks: readonly TaskReport[]): Promise<void> {
    return this.serial(() => this.applyRegistration(node, tasks));
  }

  private async applyRegistration(node: string, tasks: readonly TaskReport[]): Promise<void> {
    const announced = new Set(tasks.map((t) => `${t.jobId}/${t.rank}/${t.epoch}`));
    // Not waiting for each written-behind write: this runs in the serial section, and a restarted
    // scheduler's 512 reconnecting agents would wait out one write interval per announced task.
    for (const t of tasks) this.writtenBehind(await this.applyTaskReport(node, t), t);
    for (const job of [...this.jobs.live()]) {
      if (!ACTIVE_JOB_STATES.has(job.state)) continue;
      for (const r of job.ranks) {
        if (r.node !== node || announced.has(`${job.id}/${r.rank}/${rankEpoch(job, r)}`) || r.state === 'exited') continue;
        if (r.state === 'starting') {
          this.agents.start(this.jobs.peek(job.id)!, r);
        } else {
          await this.apply(job, step(job, { type: 'rank-gone', rank: r.rank, node }, this.ctx()));
          this.trigger('rank gone');
          break;
        }
      }
    }
  }

  /**
   * Runs `remove` (deleting a node's record) between two changes, when no rank of an active job
   * is placed on the node and no stopped rank there is still releasing its GPUs; else refuses with
   * FailedPreconditionError, so no cycle places work on a node while it is being deleted.
   */
  removeNode<T>(node: string, remove: () => Promise<T>): Promise<T> {
    return this.serial(async () => {
      const busy = new Set<string>();
      for (const job of this.jobs.live()) {
        if (ACTIVE_JOB_STATES.has(job.state) && job.ranks.some((r) => r.node === node && r.state !== 'exited')) busy.add(job.id);
      }
      for (const r of this.agents.stopping()) if (r.node === node) busy.add(r.jobId);
      if (busy.size > 0) {
        const ids = [...busy].sort();
        throw new FailedPreconditionError(`node ${node} has ranks of ${ids.length === 1 ? 'job' : 'jobs'} ${ids.join(', ')}: cordon and drain it first (gantry drain ${node}), then delete it`);
      }
      return remove();
    });
  }

  /** Node transitions: a lost node requeues the gangs it holds; a change of nodes may let jobs fit. */
  onNodeTransition(t: Transition): void {
    if (t.type === 'lost') {
      this.serial(async () => {
        for (const job of [...this.jobs.live()]) await this.apply(job, step(job, { type: 'node-lost', node: t.node.name }, this.ctx()));
      })
        .then(() => this.trigger('node lost'))
        .catch((e: unknown) => this.deps.log.error({ err: e }, 'handling a lost node failed'));
      return;
    }
    // Coalesced like submits: 10,000 agents registering at once asked for 10,000 cycles back to back.
    if (t.type !== 'reconnected') this.loop.soon(`node ${t.type}`);
    if (t.type === 'registered' || t.type === 'deleted') this.checkNodes();
  }

  /** Builds the tree now (cached while the records stand), so an unusable record is reported at once, not at the next cycle that needs it. */
  private checkNodes(): void {
    try {
      this.view.topology();
    } catch (e) {
      this.deps.log.error({ err: (e as Error).message }, 'the cluster topology cannot be built');
    }
  }

  /** Committed events: logged, and handed to the bus (in-process listeners, then NATS from the outbox). */
  private announce(events: readonly GantryEvent[]): void {
    for (const e of events) if (e.kind === 'job') this.deps.log.info({ job: e.job, event: e.type, epoch: e.epoch, attempt: e.attempt }, e.message || `job ${e.type}`);
    this.deps.events.committed(events);
  }

  private event(job: JobRecord, type: JobEvent['type']): JobEvent {
    return {
      v: EVENT_SCHEMA_VERSION,
      id: randomUUID(),
      at: new Date(this.deps.clock.nowMs()).toISOString(),
      kind: 'job',
      job: job.id,
      type,
      attempt: job.attempt,
      epoch: job.epoch,
      message: job.message,
      ...(job.ranks.length && ACTIVE_JOB_STATES.has(job.state) ? { nodes: [...new Set(job.ranks.map((r) => r.node))] } : {}),
      ...(job.cause && (type === 'requeued' || type === 'failed' || type === 'timeout') ? { cause: job.cause } : {}),
      ...(type === 'fault' && job.faults?.length ? { fault: job.faults[job.faults.length - 1]! } : {}),
    };
  }

  static isJobId(id: string): boolean {
    return JOB_ID.test(id);
  }
}
