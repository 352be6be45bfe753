/**
 * Jobs from submit to finish. The scheduling cycle: snapshot → order the queue → place gangs →
 * commit every change in one LMDB transaction → only then send commands to agents → publish events.
 * Placement, queue order and rank environment are pure (scheduler/placement, scheduler/queue,
 * rank-env.ts); this class wires them to the store, the agents and the event bus.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../shared/clock/index.js';
import {
  ACTIVE_JOB_STATES,
  TERMINAL_JOB_STATES,
  rankEpoch,
  type JobRecord,
  type JobState,
  type NodeRecord,
  type RankRecord,
} from '../../shared/domain/index.js';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../shared/errors/index.js';
import { EVENT_SCHEMA_VERSION, type GantryEvent, type JobEvent } from '../../shared/events/index.js';
import { parseJobSpec, type JobSpec } from '../../shared/jobspec/index.js';
import type { Logger } from '../../shared/log/index.js';
import type { SchedulerMessage } from '../../shared/proto/index.js';
import { serviceSloToPb, type TaskStatusView } from '../../shared/wire/index.js';
import type { ClusterModel, Transition } from '../cluster/index.js';
import type { EventBus } from '../events/index.js';
import { explainText, placeJob, requestFromJobSpec, type Placement, type Reason } from '../placement/index.js';
import { DEFAULT_QUEUE, decayedUsage, jobGpus, quotaBlock, jobMinGpus, type QueueConfig } from '../queue/index.js';
import type { StateStore } from '../store/index.js';
import {
  buildTopology,
  ClusterSnapshot,
  GPU_FREE,
  GPU_USED,
  nodeInputFromRecord,
  nodeStateFromRecord,
  type DegradedMode,
  type TopologyNodeInput,
  type TopologyTree,
} from '../topology/index.js';
import { planCycle, type ReservationDecision } from './planner.js';
import { pickMasterPort, rankEnv, requeueDelayMs, unitIndex, type UnitIndex } from './rank-env.js';
import { blocksOverlap, blockText, serviceBlock, type PortBlock } from './service-ports.js';

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
   * all changes since the last; writes start at most this often (default 25 ms). A lone report is
   * written at once; a gang's stream of reports shares one write per interval instead of one per
   * turn of the event loop. 0: one write per turn.
   */
  writeBehindIntervalMs?: number;
}

/** GPUs of a stopped rank, taken until the agent reports the rank gone (no GPU is handed out twice). */
interface Releasing {
  node: string;
  gpus: number[];
  untilMs: number;
  /** The job that preempted it, if any: that job waits for these rather than preempting more. */
  forJob: string;
  /** The rank's job, and its service port block (an SLO service): held on the node until the rank is gone. */
  jobId: string;
  ports: PortBlock | null;
}

export interface JobManagerDeps {
  store: StateStore;
  cluster: ClusterModel;
  events: EventBus;
  clock: Clock;
  log: Logger;
  /** Sends a command to a node's agent; false when the node has no live stream. */
  send(node: string, msg: SchedulerMessage): boolean;
  /** Domains marked degraded by latency telemetry, and how placement treats them (absent: none). */
  degraded?(): { domains: { level: string; name: string }[]; mode: DegradedMode };
}

export interface DomainView {
  level: string;
  name: string;
  parent: string;
  nodes: number;
  gpusTotal: number;
  gpusUsed: number;
  gpusFree: number;
  gpusUnavailable: number;
  /** Marked degraded by latency telemetry. */
  degraded: boolean;
}

/** A task's status as an agent reports it. */
export type TaskReport = Pick<TaskStatusView, 'jobId' | 'rank' | 'epoch' | 'state' | 'exitCode' | 'signal' | 'message' | 'checkpointMs'>;

interface Explanation {
  reasons: Reason[];
  text: string;
  /** The capacity generation the job failed to fit at (see JobManager.capacityGen). */
  gen: number;
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

const JOB_ID = /^[a-z0-9][a-z0-9-]{0,62}-\d+$/;

/**
 * The job table, with the unfinished jobs kept apart as records are set: a cycle walks those (a
 * few thousand) rather than every job the scheduler remembers (100k after a restart).
 */
class JobTable extends Map<string, JobRecord> {
  private readonly unfinished = new Map<string, JobRecord>();

  override set(id: string, job: JobRecord): this {
    super.set(id, job);
    // (Map's constructor calls set before the field exists; the table is built empty.)
    if (TERMINAL_JOB_STATES.has(job.state)) this.unfinished?.delete(id);
    else this.unfinished?.set(id, job);
    return this;
  }

  override delete(id: string): boolean {
    this.unfinished.delete(id);
    return super.delete(id);
  }

  override clear(): void {
    this.unfinished.clear();
    super.clear();
  }

  /** Jobs not in a terminal state. */
  live(): IterableIterator<JobRecord> {
    return this.unfinished.values();
  }
}

export class JobManager {
  private readonly jobs = new JobTable();
  /** Job records changed in memory, waiting for writeBehind's next write. */
  private readonly dirty = new Map<string, JobRecord>();
  private flushing: Promise<void> | undefined;
  /** Resolves when writeBehind may start its next write (writeBehindIntervalMs after the last). */
  private flushPacing: Promise<void> = Promise.resolve();
  /** The last write writeBehind started (idle() waits for it). */
  private writing: Promise<void> = Promise.resolve();
  /** True after a restart until every finished job is read from the store (see load()). */
  private loadingFinished = false;
  private readonly explanations = new Map<string, Explanation>();
  /** Stopped ranks not yet reported gone, by job/rank/epoch. */
  private readonly releasing = new Map<string, Releasing>();
  /** Events of the change being built (replica, scaled), committed with it by commitAndSend. */
  private readonly outgoing: JobEvent[] = [];
  private seq = 0;
  private tree: TopologyTree | undefined;
  private treeKey = '';
  /** The node records the tree was last checked against (compared by identity). */
  private treeNodes: readonly NodeRecord[] = [];
  /** Per request shape (JSON), why it could not fit on the current tree even if every node were free (null: it could). */
  private readonly everFits = new Map<string, string | null>();
  /** Every change to jobs runs here, one at a time, so no update is computed from a stale record. */
  private chain: Promise<unknown> = Promise.resolve();
  private cycleQueued = false;
  /** A cycle asked for by submissions, waiting to start (see triggerSoon). */
  private soon: { timer: NodeJS.Timeout; done: Promise<void> } | undefined;
  /** The last cycle's planning time (before its commit) and when it ended, by the clock. */
  private lastCycle = { spentMs: 0, endedMs: 0 };
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Cycles run so far (tests and metrics). */
  cycles = 0;
  /** Placements tried so far (tests and metrics). */
  placementsTried = 0;
  /**
   * Bumped whenever capacity may have grown: a gang left the active states (its GPUs and port are
   * free), or a node's capacity inputs changed (connectivity, schedulability, health, verdicts,
   * inventory, labels; compared by identity, so a re-registration counts). A pending job that did
   * not fit at this generation is not tried again until it changes: with less or equal capacity it
   * cannot fit, and re-placing every pending job on every submit made submits quadratic.
   */
  private capacityGen = 0;
  /** The last cycle's reservation decision and the capacity generation it was made at. */
  private lastDecision: { gen: number; decision: ReservationDecision | null } | undefined;
  private readonly nodeInputs = new Map<string, readonly unknown[]>();

  constructor(
    private readonly opts: JobManagerOptions,
    private readonly deps: JobManagerDeps,
  ) {}

  /**
   * Loads the unfinished jobs (what scheduling needs) at once; the finished ones follow in the
   * background after start() (until then get() and list() read them from the store). Returns
   * how many jobs the store holds.
   */
  load(): number {
    const unfinished = this.deps.store.listUnfinishedJobs();
    for (const j of unfinished) this.jobs.set(j.id, j);
    // The store keeps the highest job number: no need to read 100k ids before serving.
    this.seq = Math.max(this.seq, this.deps.store.highestJobNumber());
    const count = this.deps.store.jobCount();
    this.loadingFinished = count > unfinished.length;
    return count;
  }

  start(): void {
    this.timer = setInterval(() => this.trigger('timer'), this.opts.cycleIntervalMs);
    this.trigger('start');
    void this.loadFinished();
  }

  /** Finished jobs, a chunk per turn of the event loop, so the scheduler serves meanwhile. */
  private async loadFinished(): Promise<void> {
    let after: string | undefined;
    while (this.loadingFinished && !this.stopped) {
      await new Promise((r) => setImmediate(r));
      const page = this.deps.store.listJobsPage(after, 500);
      // What is in memory is as new or newer than the store.
      for (const j of page) if (!this.jobs.has(j.id)) this.jobs.set(j.id, j);
      if (page.length < 500) break;
      after = page[page.length - 1]!.id;
    }
    this.loadingFinished = false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.idle();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  get(id: string): JobRecord {
    if (!id) throw new InvalidArgumentError('id', 'is required');
    const j = this.jobs.get(id) ?? (this.loadingFinished ? this.deps.store.getJob(id) : undefined);
    if (!j) throw new NotFoundError('job', id);
    return j;
  }

  list(filter: { state?: string; queue?: string; owner?: string } = {}): JobRecord[] {
    let all: Iterable<JobRecord> = this.jobs.values();
    if (this.loadingFinished && (!filter.state || TERMINAL_JOB_STATES.has(filter.state as JobState))) {
      // Still loading finished jobs: the store has them all; what is in memory is as new or newer.
      const merged = new Map(this.deps.store.listJobs().map((j) => [j.id, j]));
      for (const j of this.jobs.values()) merged.set(j.id, j);
      all = merged.values();
    }
    return [...all]
      .filter((j) => (!filter.state || j.state === filter.state) && (!filter.queue || j.spec.queue === filter.queue) && (!filter.owner || j.owner === filter.owner))
      .sort((a, b) => a.submittedMs - b.submittedMs || (a.id < b.id ? -1 : 1));
  }

  /** Validates, refuses a job that could not fit even on an empty cluster, stores it pending. */
  async submit(specText: string, owner: string): Promise<JobRecord> {
    const spec = parseJobSpec(specText);
    const queue = this.opts.queues[spec.queue];
    if (!queue) throw new InvalidArgumentError('queue', `unknown queue "${spec.queue}"; the queues are ${Object.keys(this.opts.queues).sort().join(', ')}`);
    const block = serviceBlock(spec);
    const master = { lo: this.opts.masterPortRange.min, hi: this.opts.masterPortRange.max };
    if (block && blocksOverlap(block, master)) {
      throw new InvalidArgumentError(
        'slo.port',
        `the service port block ${blockText(block)} (replica i serves on slo.port + i, i < replicas.max) overlaps the scheduler's MASTER_PORT range ${blockText(master)} (jobs.masterPortMin–jobs.masterPortMax); choose a block outside it`,
      );
    }
    this.checkCouldEverFit(spec);
    const overQuota = quotaBlock(spec.queue, queue, 0, jobMinGpus({ spec }));
    if (overQuota) throw new FailedPreconditionError(`job ${spec.name} could never run: ${overQuota}`);
    const now = this.deps.clock.nowMs();
    const job: JobRecord = {
      id: `${spec.name}-${++this.seq}`,
      spec,
      owner,
      state: 'pending',
      message: 'waiting for the next scheduling cycle',
      attempt: 0,
      epoch: 0,
      submittedMs: now,
      updatedMs: now,
      startedMs: 0,
      finishedMs: 0,
      requeueAtMs: 0,
      ranks: [],
      masterPort: 0,
    };
    // A new job is nobody else's yet (its id is fresh), so its commit need not wait its turn in the
    // chain: concurrent submits share one LMDB commit instead of paying one each, one after another.
    const submitted = this.event(job, 'submitted');
    await this.deps.store.commit({ jobs: [job], events: [submitted] });
    await this.serial(async () => {
      this.jobs.set(job.id, job);
      this.announce([submitted]);
    });
    this.triggerSoon('submit');
    return job;
  }

  async cancel(id: string, reason: string): Promise<JobRecord> {
    this.get(id);
    return this.serial(async () => {
      const job = this.get(id);
      if (TERMINAL_JOB_STATES.has(job.state)) throw new FailedPreconditionError(`job ${id} is already ${job.state}`);
      const next = this.finish(job, 'cancelled', reason || 'cancelled by request');
      await this.commitAndSend([next], [() => this.stopRanks(job, 'cancelled')]);
      // Its GPUs are free now: waiting jobs need not wait for the timer's cycle.
      if (ACTIVE_JOB_STATES.has(job.state)) this.trigger('cancel');
      return next;
    });
  }

  explain(id: string): { job: JobRecord; fitsNow: boolean; reasons: Reason[]; text: string } {
    const job = this.get(id);
    if (job.state !== 'pending') {
      return { job, fitsNow: ACTIVE_JOB_STATES.has(job.state), reasons: [], text: `job ${id} is ${job.state}${job.message ? `: ${job.message}` : ''}` };
    }
    const e = this.explanations.get(id);
    return { job, fitsNow: false, reasons: e?.reasons ?? [], text: e?.text ?? 'not tried yet: waiting for the next scheduling cycle' };
  }

  /** Asks for a cycle: at most one waits in the queue; one asked for while a cycle runs comes after it. */
  trigger(_why: string): void {
    if (this.stopped || this.cycleQueued) return;
    this.cycleQueued = true;
    void this.serial(async () => {
      this.cycleQueued = false;
      await this.cycle();
    }).catch((e: unknown) => this.deps.log.error({ err: e }, 'scheduling cycle failed'));
  }

  /**
   * A cycle for new submissions, coalesced: it starts no sooner after the last cycle ended than
   * that cycle took to plan, so cycles take at most about half the time however fast jobs come,
   * and each tries every job submitted since. A cycle per submission made a burst quadratic (each
   * one orders the whole queue). A small queue plans in well under a millisecond: no wait then.
   */
  private triggerSoon(why: string): void {
    if (this.stopped || this.cycleQueued || this.soon) return;
    const waitMs = Math.max(0, this.lastCycle.endedMs + this.lastCycle.spentMs - this.deps.clock.nowMs());
    let fire!: () => void;
    const done = new Promise<void>((r) => (fire = r));
    const timer = setTimeout(() => {
      this.soon = undefined;
      this.trigger(why);
      fire();
    }, waitMs);
    this.soon = { timer, done };
  }

  /** Resolves when every queued change and cycle is done (tests, graceful stop). */
  async idle(): Promise<void> {
    for (;;) {
      if (this.soon) {
        await this.soon.done;
        continue;
      }
      const seen = this.chain;
      await seen;
      if (seen === this.chain && !this.soon) break;
    }
    await this.flushing;
    await this.writing;
  }

  /** What `gantry jobs` shows as a job's message: for a pending job, why it waits. */
  displayMessage(job: JobRecord): string {
    if (job.state !== 'pending') return job.message;
    const e = this.explanations.get(job.id);
    if (!e) return job.message;
    const now = e.text.split('\n')[0]!;
    // Why it left its last run (preempted, drained) stays visible beside why it waits now.
    return /^(preempted|node .* was drained)/.test(job.message) ? `${job.message}; waiting: ${now}` : now;
  }

  private topology(nodes: readonly NodeRecord[]): TopologyTree {
    // A node's place in the tree comes from its name, inventory and labels only (nodeInputFromRecord),
    // and records are replaced, never changed in place: a report that changed nothing keeps the
    // inventory and labels objects, so the same names, inventories and labels make the same tree.
    // (Comparing whole records missed after every heartbeat, and then built and compared every node's input.)
    const prev = this.treeNodes;
    const same =
      this.tree && nodes.length === prev.length && nodes.every((n, i) => n.name === prev[i]!.name && n.inventory === prev[i]!.inventory && n.labels === prev[i]!.labels);
    this.treeNodes = nodes;
    if (same) return this.tree!;
    const inputs = nodes.map((n) => inheritDomains(nodeInputFromRecord(n, this.opts.levels), this.opts.levels));
    const key = JSON.stringify(inputs);
    if (!this.tree || key !== this.treeKey) {
      try {
        this.tree = buildTopology(this.opts.levels, inputs);
      } catch (e) {
        this.treeNodes = [];
        throw new FailedPreconditionError(`the cluster's topology is inconsistent (check the agents' topology labels): ${(e as Error).message}`, { cause: e });
      }
      this.treeKey = key;
      this.everFits.clear();
    }
    return this.tree;
  }

  private checkCouldEverFit(spec: JobSpec): void {
    const nodes = this.deps.cluster.list();
    const tree = this.topology(nodes);
    const request = requestFromJobSpec(spec);
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

  private queue(name: string): QueueConfig {
    return this.opts.queues[name] ?? DEFAULT_QUEUE;
  }

  private async cycle(): Promise<void> {
    this.cycles++;
    const now = this.deps.clock.nowMs();
    try {
      await this.planAndCommit(now);
    } finally {
      const endedMs = this.deps.clock.nowMs();
      this.lastCycle = { spentMs: this.lastCycle.spentMs, endedMs };
    }
  }

  private async planAndCommit(now: number): Promise<void> {
    const changed = new Map<string, JobRecord>();
    const sends: Array<() => void> = [];
    // Stopped ranks whose exit never came (agent gone...) free their GPUs after their grace period.
    for (const [k, r] of this.releasing) {
      if (r.untilMs > now) continue;
      this.releasing.delete(k);
      this.capacityGen++;
    }
    // Drains past their deadline: gangs still on those nodes stop and are requeued (no retry used).
    for (const n of this.deps.cluster.draining()) {
      if (!n.drainDeadlineMs || n.drainDeadlineMs > now) continue;
      for (const j of this.jobs.live()) {
        if (!ACTIVE_JOB_STATES.has(j.state) || changed.has(j.id) || !j.ranks.some((r) => r.node === n.name && r.state !== 'exited')) continue;
        const next = this.transition(j, 'requeued', `node ${n.name} was drained: its deadline passed; requeued (no retry used)`);
        next.requeueAtMs = now;
        changed.set(j.id, next);
        sends.push(() => this.stopRanks(j, `node ${n.name} drained`));
      }
    }
    // Requeued jobs whose backoff is over are pending again.
    for (const j of this.jobs.live()) {
      if (j.state === 'requeued' && j.requeueAtMs <= now) {
        changed.set(j.id, this.transition(j, 'pending', /^(preempted|node .* was drained)/.test(j.message) ? j.message : `retry ${j.attempt} of ${j.spec.maxRetries}`));
      }
    }
    const pending = [...this.jobs.live()].map((j) => changed.get(j.id) ?? j).filter((j) => j.state === 'pending');
    const grow = this.missingReplicas();
    if (pending.length > 0 || grow.length > 0) {
      const { tree, snapshot, byName, ports } = this.snapshotNow();
      this.noteNodeInputs(byName);
      /** `${job}/${unit}` → the MASTER_PORT reserved for that unit this cycle. */
      const chosenPorts = new Map<string, number>();
      const gen = this.capacityGen;
      const plan = planCycle({
        grow,
        // Failed (placement and preemption) at this capacity and with these gangs running: it cannot fit now either.
        unchanged: (job) => this.explanations.get(job.id)?.gen === gen,
        previous: this.lastDecision?.gen === gen ? this.lastDecision.decision : null,
        nowMs: now,
        tree,
        snapshot,
        pending,
        active: [...this.jobs.live()].filter((j) => ACTIVE_JOB_STATES.has(j.state)),
        awaitingVictims: new Set([...this.releasing.values()].map((r) => r.forJob).filter(Boolean)),
        stoppingPorts: [...this.releasing.values()].flatMap((r) => (r.ports ? [{ jobId: r.jobId, node: r.node, block: r.ports }] : [])),
        queues: (name) => this.queue(name),
        usage: decayedUsage(this.jobs.values(), now, this.opts.fairShareHalfLifeMs),
        halfLifeMs: this.opts.fairShareHalfLifeMs,
        // Each unit (the gang, a replica, a shard) is its own torch world: its rank 0's node gets a
        // MASTER_PORT of its own, so two units on one node, of one job or of two, never share one.
        accept: (job, placements, units) => {
          const picked: Array<[string, number]> = [];
          for (let i = 0; i < placements.length; i++) {
            const head = placements[i]!.ranks[0]?.node ?? '';
            const reserved = ports.get(head) ?? new Set<number>();
            const port = pickMasterPort(this.opts.masterPortRange, reserved);
            if (port === 0) {
              for (const [n, p] of picked) ports.get(n)!.delete(p);
              return `every port of the MASTER_PORT range is taken on ${head}`;
            }
            ports.set(head, reserved.add(port));
            picked.push([head, port]);
            chosenPorts.set(`${job.id}/${units?.[i] ?? i}`, port);
          }
          return null;
        },
      });
      this.placementsTried += plan.tried;
      this.lastDecision = { gen, decision: plan.decision };
      for (const { job, message } of plan.failures) changed.set(job.id, this.finish(job, 'failed', message));
      for (const [id, w] of plan.waiting) {
        const r = plan.reservation?.jobId === id ? plan.reservation : null;
        const note = r
          ? `\nreserved: ${r.gpus} GPUs held for it${Number.isFinite(r.atMs) ? `; by the running jobs' time limits it starts by ${new Date(r.atMs).toISOString()}` : ''}; smaller jobs backfill only if their time limit ends before then`
          : '';
        if (w.skipped && this.explanations.has(id)) continue;
        this.explanations.set(id, { reasons: w.reasons, text: w.text.replace(/\n$/, '') + note, gen });
      }
      for (const p of plan.preemptions) {
        const v = this.jobs.get(p.victim.id)!;
        const hours = (p.lostWorkGpuMs / 3_600_000).toFixed(2);
        const next = this.transition(v, 'requeued', `preempted by ${p.preemptor.id} (priority ${p.preemptor.spec.priority}, queue ${p.preemptor.spec.queue}); ${hours} GPU-hours since its start or last checkpoint lost`);
        next.requeueAtMs = now;
        changed.set(v.id, next);
        sends.push(() => this.stopRanks(v, `preempted by ${p.preemptor.id}`, undefined, p.preemptor.id));
      }
      for (const { job, unit, placement } of plan.grown) {
        const base = changed.get(job.id) ?? this.transition(job, job.state, job.message);
        const epoch = base.epoch + 1;
        for (const r of base.ranks) r.epoch = rankEpoch(base, r);
        const masterPort = chosenPorts.get(`${job.id}/${unit}`) ?? job.masterPort;
        const added = this.ranksOf([placement], tree, byName).map((r, i) => ({ ...r, rank: unit * job.spec.ranks + i, unit, epoch, masterPort }));
        base.ranks = [...base.ranks, ...added].sort((a, b) => a.rank - b.rank);
        base.epoch = epoch;
        base.message = `replica ${unit} placed on ${[...new Set(added.map((r) => r.node))].join(', ')}; ${this.replicaCount(base)} of ${base.replicasTarget ?? '?'} replicas placed`;
        changed.set(job.id, base);
        this.explanations.delete(job.id);
        this.publishReplica(base, 'replica', base.message);
        sends.push(() => {
          for (const r of added) this.sendStart(base, r, byName);
        });
      }
      for (const [id, why] of plan.growWaiting) {
        const j = changed.get(id) ?? this.jobs.get(id)!;
        this.explanations.set(id, { reasons: [], text: `a replica waits: ${why}`, gen });
        if (!j.message.startsWith('a replica waits')) changed.set(id, this.transition(j, j.state, `a replica waits: ${why.split('\n')[0]}`));
      }
      for (const { job, placements } of plan.starts) {
        const ranks = this.ranksOf(placements, tree, byName);
        this.explanations.delete(job.id);
        const next = this.transition(job, 'starting', `placed on ${new Set(ranks.map((r) => r.node)).size} node(s)`);
        next.epoch = job.epoch + 1;
        next.ranks = ranks;
        for (const r of ranks) r.masterPort = chosenPorts.get(`${job.id}/${r.unit}`) ?? 0;
        next.masterPort = ranks[0]?.masterPort ?? 0;
        if (job.spec.kind === 'Inference') next.replicasTarget = placements.length;
        changed.set(job.id, next);
        sends.push(() => this.startRanks(next, byName));
      }
    }
    // Planning time (the commit that follows waits on the disk, not the CPU): paces triggerSoon.
    this.lastCycle = { ...this.lastCycle, spentMs: Math.max(0, this.deps.clock.nowMs() - now) };
    if (changed.size > 0) await this.commitAndSend([...changed.values()], sends);
  }

  /** Bumps the capacity generation when any node's capacity inputs changed since the last look. */
  private noteNodeInputs(byName: ReadonlyMap<string, NodeRecord>): void {
    let changed = byName.size !== this.nodeInputs.size;
    for (const [name, n] of byName) {
      const inputs = [n.connectivity, n.schedulability, n.health, n.verdicts, n.inventory, n.labels];
      const prev = this.nodeInputs.get(name);
      if (!prev || prev.some((x, i) => x !== inputs[i])) {
        changed = true;
        this.nodeInputs.set(name, inputs);
      }
    }
    if (byName.size !== this.nodeInputs.size) for (const name of [...this.nodeInputs.keys()]) if (!byName.has(name)) this.nodeInputs.delete(name);
    if (changed) this.capacityGen++;
  }

  /** The tree and this moment's free and used GPUs (allocations of active jobs), plus reserved ports. */
  private snapshotNow(): { tree: TopologyTree; snapshot: ClusterSnapshot; byName: Map<string, NodeRecord>; ports: Map<string, Set<number>> } {
    const nodes = this.deps.cluster.list();
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const tree = this.topology(nodes);
    const used = new Map<string, number[]>();
    const ports = new Map<string, Set<number>>();
    for (const j of this.jobs.live()) {
      if (!ACTIVE_JOB_STATES.has(j.state)) continue;
      for (const r of j.ranks) used.set(r.node, [...(used.get(r.node) ?? []), ...r.gpus]);
      // Each unit's MASTER_PORT is reserved on its rank 0's node (records from before per-unit ports: the job's).
      const seen = new Set<number>();
      for (const r of j.ranks) {
        if (seen.has(r.unit)) continue;
        seen.add(r.unit);
        const port = r.masterPort ?? j.masterPort;
        if (port) ports.set(r.node, (ports.get(r.node) ?? new Set()).add(port));
      }
    }
    for (const r of this.releasing.values()) used.set(r.node, [...(used.get(r.node) ?? []), ...r.gpus]);
    const snapshot = ClusterSnapshot.create(tree, (name) => {
      const rec = byName.get(name);
      return rec ? nodeStateFromRecord(rec, used.get(name) ?? []) : undefined;
    });
    const degraded = this.deps.degraded?.();
    if (degraded) snapshot.markDegraded(degraded.domains, degraded.mode);
    return { tree, snapshot, byName, ports };
  }

  /** The topology tree of the registered nodes (rebuilt only when the node set changes). */
  topologyTree(): TopologyTree {
    return this.topology(this.deps.cluster.list());
  }

  /** The tree with GPUs per domain: free (placeable now), used (allocated to jobs), unavailable (unhealthy, lost, cordoned...). */
  topologyView(): { levels: string[]; domains: DomainView[] } {
    const { tree, snapshot } = this.snapshotNow();
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
    const domains: DomainView[] = [];
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

  private ranksOf(placements: readonly Placement[], tree: TopologyTree, byName: Map<string, NodeRecord>): RankRecord[] {
    const ranks: RankRecord[] = [];
    placements.forEach((p, unit) => {
      for (const r of p.ranks) {
        const inv = byName.get(r.node)?.inventory;
        ranks.push({
          rank: ranks.length,
          unit,
          node: r.node,
          gpus: [...r.gpus],
          gpuUuids: r.gpus.map((g) => inv?.gpus.find((x) => x.index === g)?.uuid ?? ''),
          topologyAddress: collapseRepeats(tree.topologyAddress(r.nodeId)),
          state: 'starting',
          exitCode: null,
          signal: null,
        });
      }
    });
    return ranks;
  }

  /** Commit first, then send: no command leaves before its allocation is durable. */
  private async commitAndSend(changed: JobRecord[], sends: Array<() => void>): Promise<void> {
    for (const j of changed) this.dirty.delete(j.id);
    // Each change's events go into the store's outbox in the same transaction as the change.
    const events = this.outgoing.splice(0);
    for (const j of changed) {
      const prev = this.jobs.get(j.id);
      if (prev?.state !== j.state || prev.epoch !== j.epoch) events.push(this.event(j, j.state === 'starting' ? 'placed' : (j.state as JobEvent['type'])));
    }
    await this.deps.store.commit({ jobs: changed, events });
    for (const j of changed) {
      const prev = this.jobs.get(j.id);
      // Gangs leaving or starting, replicas placed or lost: pending jobs must be tried again.
      if (prev ? ACTIVE_JOB_STATES.has(prev.state) !== ACTIVE_JOB_STATES.has(j.state) || prev.epoch !== j.epoch || prev.ranks.length !== j.ranks.length : ACTIVE_JOB_STATES.has(j.state)) this.capacityGen++;
      this.jobs.set(j.id, j);
    }
    this.announce(events);
    for (const s of sends) s();
  }

  private startRanks(job: JobRecord, byName: Map<string, NodeRecord>): void {
    const units = unitIndex(job);
    for (const r of job.ranks) this.sendStart(job, r, byName, units);
  }

  private sendStart(job: JobRecord, r: RankRecord, byName: Map<string, NodeRecord>, units?: UnitIndex): void {
    const env = rankEnv(job, r, (n) => byName.get(n) ?? this.deps.cluster.get(n), units);
    const sent = this.deps.send(r.node, {
      startTask: {
        jobId: job.id,
        rank: r.rank,
        epoch: rankEpoch(job, r),
        command: job.spec.command,
        env,
        workdir: job.spec.workdir ?? '',
        runAs: job.spec.runAs ?? '',
        gpus: r.gpus,
        graceSeconds: job.spec.preemptGraceSeconds,
        slo: serviceSloToPb(job, r),
      },
    });
    if (!sent) this.deps.log.warn({ job: job.id, rank: r.rank, node: r.node }, 'node has no stream; the start goes out when it reconnects');
  }

  /**
   * SIGTERM, then SIGKILL after the job's grace period. The ranks' GPUs stay taken until the agent
   * reports them gone (or grace + stopSlackMs pass), so a next placement never shares a GPU with them.
   */
  private stopRanks(job: JobRecord, reason: string, except?: (r: RankRecord) => boolean, forJob = ''): void {
    const untilMs = this.deps.clock.nowMs() + job.spec.preemptGraceSeconds * 1000 + this.opts.stopSlackMs;
    const ports = serviceBlock(job.spec);
    for (const r of job.ranks) {
      if (r.state === 'exited' || except?.(r)) continue;
      if (this.deps.cluster.get(r.node)?.connectivity === 'ready') {
        this.releasing.set(`${job.id}/${r.rank}/${rankEpoch(job, r)}`, { node: r.node, gpus: [...r.gpus], untilMs, forJob, jobId: job.id, ports });
      }
      this.deps.send(r.node, { stopTask: { jobId: job.id, rank: r.rank, epoch: rankEpoch(job, r), graceSeconds: job.spec.preemptGraceSeconds, reason } });
    }
  }

  private transition(job: JobRecord, state: JobState, message: string): JobRecord {
    return { ...job, ranks: job.ranks.map((r) => ({ ...r })), state, message, updatedMs: this.deps.clock.nowMs() };
  }

  private finish(job: JobRecord, state: 'failed' | 'succeeded' | 'cancelled', message: string): JobRecord {
    const next = this.transition(job, state, message);
    next.finishedMs = this.deps.clock.nowMs();
    return next;
  }

  private replicaCount(job: JobRecord): number {
    return new Set(job.ranks.map((r) => r.unit)).size;
  }

  /** Running inference jobs with fewer replicas than their target: the unit indices to place. */
  private missingReplicas(): Array<{ job: JobRecord; units: number[] }> {
    const out: Array<{ job: JobRecord; units: number[] }> = [];
    for (const j of this.jobs.live()) {
      if (j.spec.kind !== 'Inference' || j.state !== 'running' || j.replicasTarget === undefined) continue;
      const have = new Set(j.ranks.map((r) => r.unit));
      const units: number[] = [];
      for (let u = 0; have.size + units.length < j.replicasTarget; u++) if (!have.has(u)) units.push(u);
      if (units.length) out.push({ job: j, units });
    }
    return out;
  }

  /**
   * Ranks matching `lost` are gone (exit, lost node...). A running inference service that keeps
   * other replicas loses only the affected replicas, which the next cycle replaces one by one; any
   * other job is a gang: stopped whole and requeued (failGang).
   */
  private loseRanks(job: JobRecord, lost: (r: RankRecord) => boolean, cause: string): { next: JobRecord; send: () => void } {
    const units = new Set(job.ranks.filter(lost).map((r) => r.unit));
    const survivors = job.ranks.filter((r) => !units.has(r.unit));
    if (job.spec.kind !== 'Inference' || job.state !== 'running' || survivors.length === 0) return this.failGang(job, cause);
    const gone = job.ranks.filter((r) => units.has(r.unit));
    const next = this.transition(job, job.state, '');
    next.ranks = survivors.map((r) => ({ ...r, epoch: rankEpoch(job, r) }));
    next.message = `${cause}; replacing replica ${[...units].join(', ')} (${this.replicaCount(next)} of ${job.replicasTarget ?? '?'} replicas running)`;
    this.publishReplica(next, 'replica', next.message);
    this.trigger('replica lost'); // runs after this change is committed (changes are serial)
    return { next, send: () => this.stopRanks({ ...job, ranks: gone }, `replica ${[...units].join(', ')} is being replaced`) };
  }

  /**
   * Sets an inference service's replica count (the autoscaler, or an operator): up, the next cycle
   * places replicas one by one; down, the highest replicas stop. Clamped to replicas.min..max.
   */
  scale(id: string, target: number, reason: string): Promise<JobRecord> {
    return this.serial(async () => {
      const job = this.get(id);
      if (job.spec.kind !== 'Inference') throw new FailedPreconditionError(`job ${id} is ${job.spec.kind}; only Inference jobs scale`);
      if (job.state !== 'running') throw new FailedPreconditionError(`job ${id} is ${job.state}; only a running service scales`);
      const want = Math.min(job.spec.replicas.max, Math.max(Math.max(1, job.spec.replicas.min), Math.round(target)));
      const from = job.replicasTarget ?? this.replicaCount(job);
      if (want === from) return job;
      const next = this.transition(job, job.state, `scaled ${from} → ${want} replicas: ${reason}`);
      next.replicasTarget = want;
      const sends: Array<() => void> = [];
      if (want < from) {
        const drop = [...new Set(job.ranks.map((r) => r.unit))].sort((a, b) => b - a).slice(0, Math.max(0, this.replicaCount(job) - want));
        const gone = job.ranks.filter((r) => drop.includes(r.unit));
        next.ranks = job.ranks.filter((r) => !drop.includes(r.unit)).map((r) => ({ ...r, epoch: rankEpoch(job, r) }));
        if (gone.length) sends.push(() => this.stopRanks({ ...job, ranks: gone }, `scaled down: ${reason}`));
      }
      this.publishReplica(next, 'scaled', next.message);
      await this.commitAndSend([next], sends);
      if (want > from) this.trigger('scaled up');
      return next;
    });
  }

  /** The whole gang stops; it is requeued with backoff while retries remain, else it fails with the cause. */
  private failGang(job: JobRecord, cause: string): { next: JobRecord; send: () => void } {
    const send = (): void => this.stopRanks(job, cause);
    if (job.attempt < job.spec.maxRetries) {
      const next = this.transition(job, 'requeued', `${cause}; requeued (retry ${job.attempt + 1} of ${job.spec.maxRetries})`);
      next.attempt = job.attempt + 1;
      next.requeueAtMs = this.deps.clock.nowMs() + requeueDelayMs(next.attempt, this.opts.requeueInitialMs, this.opts.requeueMaxMs);
      return { next, send };
    }
    return { next: this.finish(job, 'failed', `${cause}; no retries left (${job.spec.maxRetries})`), send };
  }

  /**
   * A task status from an agent. Reports of another epoch, of a job no longer active, or from a
   * node the rank is not placed on, are refused and the task is stopped there (fencing).
   *
   * Resolves once the report is applied, and for a change with a command or an event (a gang
   * failing or finishing, the last rank making it running) once that is committed. A rank that
   * merely runs is written behind (writeBehind) without holding up the agent's next message: its
   * stream is handled in order, and waiting for each write made a node's 8 reports wait for 8
   * writes in a row. Nothing is lost if the scheduler dies first: the restarted scheduler has the
   * rank as starting, and the agent re-announces it running when it reconnects. idle() waits for
   * the writes too.
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

  /**
   * Writes a job record whose change needs no command and no event (a rank of a gang reported
   * running): memory now, the store on the next turn of the event loop but at most once per
   * writeBehindIntervalMs, one write per job for all such changes since. The 512 reports of a
   * 512-rank gang took one awaited commit of the whole record each (quadratic bytes, one fsync
   * after another); then one write per turn of the event loop, which for reports arriving a few
   * at a time was still ~3 ms of CPU each (a 512-rank record is ~280 KB of JSON); now they share
   * one write per interval. Resolves once durable (onTaskReport does not wait for it).
   * commitAndSend drops a record it writes itself (it is newer).
   */
  private writeBehind(job: JobRecord): Promise<void> {
    this.jobs.set(job.id, job);
    this.dirty.set(job.id, job);
    this.flushing ??= this.flushPacing
      .then(() => new Promise<void>((r) => setImmediate(r)))
      .then(() => {
        const jobs = [...this.dirty.values()];
        this.dirty.clear();
        this.flushing = undefined;
        const gapMs = this.opts.writeBehindIntervalMs ?? 25;
        this.flushPacing = gapMs > 0 ? new Promise<void>((r) => setTimeout(r, gapMs)) : Promise.resolve();
        // Written even when commitAndSend took every record: this write resolves after its, so a
        // caller waiting here still learns of durability in order.
        const write = this.deps.store.commit({ jobs });
        this.writing = write.catch(() => undefined);
        return write;
      });
    return this.flushing;
  }

  private async applyTaskReport(node: string, t: TaskReport): Promise<{ durable: Promise<void> } | undefined> {
    const job = this.jobs.get(t.jobId);
    // Ranks are stored in rank order, so the report's rank is usually at its own index.
    const atIndex = job?.ranks[t.rank];
    const rank = atIndex?.rank === t.rank ? atIndex : job?.ranks.find((r) => r.rank === t.rank);
    const current = job && rank && ACTIVE_JOB_STATES.has(job.state) && rankEpoch(job, rank) === t.epoch && rank.node === node;
    if (t.state !== 'running' && t.state !== 'starting' && this.releasing.delete(`${t.jobId}/${t.rank}/${t.epoch}`)) {
      this.capacityGen++;
      this.trigger('rank gone');
    }
    if (!current) {
      if (t.state === 'running' || t.state === 'starting') {
        this.deps.log.warn({ node, job: t.jobId, rank: t.rank, epoch: t.epoch }, 'fencing a task the scheduler does not run');
        this.deps.send(node, { stopTask: { jobId: t.jobId, rank: t.rank, epoch: t.epoch, graceSeconds: job?.spec.preemptGraceSeconds ?? 30, reason: 'fenced: not the current placement' } });
      }
      return;
    }
    // Only the reported rank changes: it alone is copied (the other ranks are shared with the
    // record it replaces; whatever changes them later copies the record first, as transition does).
    // A copy of every rank per report made a gang's starts quadratic: 512 ranks × 512 reports.
    const r: RankRecord = { ...rank };
    const ranks = job.ranks.slice();
    ranks[atIndex === rank ? t.rank : ranks.indexOf(rank)] = r;
    let next: JobRecord = { ...job, ranks, updatedMs: this.deps.clock.nowMs() };
    const sends: Array<() => void> = [];
    if (t.checkpointMs && t.checkpointMs > (job.lastCheckpointMs ?? 0)) next.lastCheckpointMs = t.checkpointMs;
    if (t.state === 'running' || t.state === 'starting') {
      if (r.state === 'exited') return;
      r.state = t.state === 'running' ? 'running' : 'starting';
      if (next.state !== 'running' && next.ranks.every((x) => x.state === 'running' || (x.state === 'exited' && x.exitCode === 0))) {
        next.state = 'running';
        next.message = `all ${next.ranks.length} ranks running`;
        next.startedMs = this.deps.clock.nowMs();
      }
    } else {
      r.state = 'exited';
      r.exitCode = t.state === 'failed-to-start' ? null : t.exitCode;
      r.signal = t.signal;
      if (t.state === 'failed-to-start') r.startError = t.message;
      const failed = t.state === 'failed-to-start' || t.exitCode !== 0;
      if (failed) {
        const what = t.state === 'failed-to-start' ? `failed to start: ${t.message}` : t.signal ? `was killed by ${t.signal}` : `exited with code ${t.exitCode}`;
        const f = this.loseRanks(next, (x) => x.rank === t.rank, `rank ${t.rank} on ${node} ${what}`);
        next = f.next;
        sends.push(f.send);
      } else if (next.ranks.every((x) => x.state === 'exited' && x.exitCode === 0)) {
        if (!next.startedMs) next.startedMs = this.deps.clock.nowMs();
        next = this.finish(next, 'succeeded', `all ${next.ranks.length} ranks exited 0`);
      }
    }
    if (sends.length === 0 && next.state === job.state && next.epoch === job.epoch) return { durable: this.writeBehind(next) };
    await this.commitAndSend([next], sends);
    if (!ACTIVE_JOB_STATES.has(next.state)) this.trigger('task exit');
    return undefined;
  }

  /**
   * An agent (re)registered and re-announced its tasks: adopt what matches, fence what does not,
   * resend starts it never got, and fail gangs whose running rank it no longer has.
   */
  onAgentRegistered(node: string, tasks: readonly TaskReport[]): Promise<void> {
    return this.serial(() => this.applyRegistration(node, tasks));
  }

  private async applyRegistration(node: string, tasks: readonly TaskReport[]): Promise<void> {
    const announced = new Set(tasks.map((t) => `${t.jobId}/${t.rank}/${t.epoch}`));
    // Not waiting for each written-behind write: this runs in the serial section, and a restarted
    // scheduler's 512 reconnecting agents would wait out one write interval per announced task.
    for (const t of tasks) this.writtenBehind(await this.applyTaskReport(node, t), t);
    for (const job of [...this.jobs.values()]) {
      if (!ACTIVE_JOB_STATES.has(job.state)) continue;
      for (const r of job.ranks) {
        if (r.node !== node || announced.has(`${job.id}/${r.rank}/${rankEpoch(job, r)}`) || r.state === 'exited') continue;
        if (r.state === 'starting') {
          const current = this.jobs.get(job.id)!;
          this.sendStart(current, r, new Map());
        } else {
          const f = this.loseRanks(job, (x) => x.rank === r.rank, `rank ${r.rank} on ${node} is gone after the agent reconnected`);
          await this.commitAndSend([f.next], [f.send]);
          this.trigger('rank gone');
          break;
        }
      }
    }
  }

  /** Node transitions: a lost node fails the gangs it holds; a change of nodes may let jobs fit. */
  onNodeTransition(t: Transition): void {
    if (t.type === 'lost') {
      this.serial(async () => {
        for (const job of [...this.jobs.values()]) {
          if (!ACTIVE_JOB_STATES.has(job.state) || !job.ranks.some((r) => r.node === t.node.name && r.state !== 'exited')) continue;
          const f = this.loseRanks(job, (r) => r.node === t.node.name, `node ${t.node.name} was lost`);
          await this.commitAndSend([f.next], [f.send]);
        }
      })
        .then(() => this.trigger('node lost'))
        .catch((e: unknown) => this.deps.log.error({ err: e }, 'handling a lost node failed'));
      return;
    }
    // Coalesced like submits: 10,000 agents registering at once asked for 10,000 cycles back to back.
    if (t.type !== 'reconnected') this.triggerSoon(`node ${t.type}`);
  }

  /** A replica replaced or placed, or a scaling step: the job keeps its state, the event says what changed. */
  private publishReplica(job: JobRecord, type: 'replica' | 'scaled', message: string): void {
    this.outgoing.push(this.event({ ...job, message }, type));
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
    };
  }

  static isJobId(id: string): boolean {
    return JOB_ID.test(id);
  }
}
