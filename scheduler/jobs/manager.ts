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
  type JobRecord,
  type JobState,
  type NodeRecord,
  type RankRecord,
} from '../../shared/domain/index.js';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../shared/errors/index.js';
import { EVENT_SCHEMA_VERSION, type JobEvent } from '../../shared/events/index.js';
import { parseJobSpec, type JobSpec } from '../../shared/jobspec/index.js';
import type { Logger } from '../../shared/log/index.js';
import type { SchedulerMessage } from '../../shared/proto/index.js';
import type { TaskStatusView } from '../../shared/wire/index.js';
import type { ClusterModel, Transition } from '../cluster/index.js';
import type { EventBus } from '../events/index.js';
import { explainText, placeJob, releaseAll, requestFromJobSpec, type Placement, type Reason } from '../placement/index.js';
import { pendingOrder } from '../queue/index.js';
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
import { pickMasterPort, rankEnv, requeueDelayMs } from './rank-env.js';

export interface JobManagerOptions {
  /** Topology levels above the node, finest first. */
  levels: string[];
  masterPortRange: { min: number; max: number };
  requeueInitialMs: number;
  requeueMaxMs: number;
  /** Timer-driven cycles (requeue deadlines, retries). */
  cycleIntervalMs: number;
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
export type TaskReport = Pick<TaskStatusView, 'jobId' | 'rank' | 'epoch' | 'state' | 'exitCode' | 'signal' | 'message'>;

interface Explanation {
  reasons: Reason[];
  text: string;
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

export class JobManager {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly explanations = new Map<string, Explanation>();
  private seq = 0;
  private tree: TopologyTree | undefined;
  private treeKey = '';
  /** Every change to jobs runs here, one at a time, so no update is computed from a stale record. */
  private chain: Promise<unknown> = Promise.resolve();
  private cycleQueued = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Cycles run so far (tests and metrics). */
  cycles = 0;

  constructor(
    private readonly opts: JobManagerOptions,
    private readonly deps: JobManagerDeps,
  ) {}

  load(): number {
    for (const j of this.deps.store.listJobs()) {
      this.jobs.set(j.id, j);
      const n = Number(/-(\d+)$/.exec(j.id)?.[1] ?? 0);
      if (n > this.seq) this.seq = n;
    }
    return this.jobs.size;
  }

  start(): void {
    this.timer = setInterval(() => this.trigger('timer'), this.opts.cycleIntervalMs);
    this.trigger('start');
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
    const j = this.jobs.get(id);
    if (!j) throw new NotFoundError('job', id);
    return j;
  }

  list(filter: { state?: string; queue?: string; owner?: string } = {}): JobRecord[] {
    return [...this.jobs.values()]
      .filter((j) => (!filter.state || j.state === filter.state) && (!filter.queue || j.spec.queue === filter.queue) && (!filter.owner || j.owner === filter.owner))
      .sort((a, b) => a.submittedMs - b.submittedMs || (a.id < b.id ? -1 : 1));
  }

  /** Validates, refuses a job that could not fit even on an empty cluster, stores it pending. */
  async submit(specText: string, owner: string): Promise<JobRecord> {
    const spec = parseJobSpec(specText);
    this.checkCouldEverFit(spec);
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
    await this.serial(async () => {
      await this.deps.store.commit({ jobs: [job] });
      this.jobs.set(job.id, job);
      this.publish(job, 'submitted');
    });
    this.trigger('submit');
    return job;
  }

  async cancel(id: string, reason: string): Promise<JobRecord> {
    this.get(id);
    return this.serial(async () => {
      const job = this.get(id);
      if (TERMINAL_JOB_STATES.has(job.state)) throw new FailedPreconditionError(`job ${id} is already ${job.state}`);
      const next = this.finish(job, 'cancelled', reason || 'cancelled by request');
      await this.commitAndSend([next], [() => this.stopRanks(job, 'cancelled')]);
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

  /** Resolves when every queued change and cycle is done (tests, graceful stop). */
  async idle(): Promise<void> {
    let seen: Promise<unknown> | undefined;
    while (seen !== this.chain) {
      seen = this.chain;
      await seen;
    }
  }

  /** What `gantry jobs` shows as a job's message: for a pending job, why it waits. */
  displayMessage(job: JobRecord): string {
    if (job.state !== 'pending') return job.message;
    const e = this.explanations.get(job.id);
    return e ? e.text.split('\n')[0]! : job.message;
  }

  private topology(nodes: readonly NodeRecord[]): TopologyTree {
    const inputs = nodes.map((n) => inheritDomains(nodeInputFromRecord(n, this.opts.levels), this.opts.levels));
    const key = JSON.stringify(inputs);
    if (!this.tree || key !== this.treeKey) {
      try {
        this.tree = buildTopology(this.opts.levels, inputs);
      } catch (e) {
        throw new FailedPreconditionError(`the cluster's topology is inconsistent (check the agents' topology labels): ${(e as Error).message}`, { cause: e });
      }
      this.treeKey = key;
    }
    return this.tree;
  }

  private checkCouldEverFit(spec: JobSpec): void {
    const nodes = this.deps.cluster.list();
    const tree = this.topology(nodes);
    const snapshot = ClusterSnapshot.create(tree, () => ({ usedGpus: [], unhealthyGpus: [], unusable: null }));
    const out = placeJob(snapshot, requestFromJobSpec(spec));
    if (!out.fits) {
      const text = out.failed && !out.failed.fits ? explainText(out.failed) : 'not enough nodes';
      throw new FailedPreconditionError(`job ${spec.name} could not fit even if every registered node were free: ${text}`);
    }
  }

  private async cycle(): Promise<void> {
    this.cycles++;
    const now = this.deps.clock.nowMs();
    const changed: JobRecord[] = [];
    // Requeued jobs whose backoff is over are pending again.
    for (const j of this.jobs.values()) {
      if (j.state === 'requeued' && j.requeueAtMs <= now) changed.push(this.transition(j, 'pending', `retry ${j.attempt} of ${j.spec.maxRetries}`));
    }
    const pending = pendingOrder([...this.jobs.values()].filter((j) => j.state === 'pending'));
    const sends: Array<() => void> = [];
    if (pending.length > 0) {
      const { tree, snapshot, byName, ports } = this.snapshotNow();
      for (const job of pending) {
        let out;
        try {
          out = placeJob(snapshot, requestFromJobSpec(job.spec));
        } catch (e) {
          // A spec naming a level this cluster does not have: it can never run here.
          changed.push(this.finish(job, 'failed', (e as Error).message));
          continue;
        }
        if (!out.fits) {
          releaseAll(snapshot, out.placements);
          const reasons = out.failed && !out.failed.fits ? out.failed.reasons : [];
          this.explanations.set(job.id, { reasons, text: out.failed && !out.failed.fits ? explainText(out.failed) : 'does not fit' });
          continue;
        }
        const ranks = this.ranksOf(out.placements, tree, byName);
        const n0 = ranks[0]!.node;
        const reserved = ports.get(n0) ?? new Set<number>();
        const masterPort = pickMasterPort(this.opts.masterPortRange, reserved);
        if (masterPort === 0) {
          releaseAll(snapshot, out.placements);
          this.explanations.set(job.id, { reasons: [{ level: 'node', reason: 'no free MASTER_PORT on rank 0 node', count: 1 }], text: `every port of the MASTER_PORT range is taken on ${n0}` });
          continue;
        }
        ports.set(n0, reserved.add(masterPort));
        this.explanations.delete(job.id);
        const next = this.transition(job, 'starting', `placed on ${new Set(ranks.map((r) => r.node)).size} node(s)`);
        next.epoch = job.epoch + 1;
        next.ranks = ranks;
        next.masterPort = masterPort;
        changed.push(next);
        sends.push(() => this.startRanks(next, byName));
      }
    }
    if (changed.length > 0) await this.commitAndSend(changed, sends);
  }

  /** The tree and this moment's free and used GPUs (allocations of active jobs), plus reserved ports. */
  private snapshotNow(): { tree: TopologyTree; snapshot: ClusterSnapshot; byName: Map<string, NodeRecord>; ports: Map<string, Set<number>> } {
    const nodes = this.deps.cluster.list();
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const tree = this.topology(nodes);
    const used = new Map<string, number[]>();
    const ports = new Map<string, Set<number>>();
    for (const j of this.jobs.values()) {
      if (!ACTIVE_JOB_STATES.has(j.state)) continue;
      for (const r of j.ranks) used.set(r.node, [...(used.get(r.node) ?? []), ...r.gpus]);
      const n0 = j.ranks[0]?.node;
      if (n0 && j.masterPort) ports.set(n0, (ports.get(n0) ?? new Set()).add(j.masterPort));
    }
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
    await this.deps.store.commit({ jobs: changed });
    for (const j of changed) {
      const prev = this.jobs.get(j.id);
      this.jobs.set(j.id, j);
      if (prev?.state !== j.state || prev.epoch !== j.epoch) this.publish(j, j.state === 'starting' ? 'placed' : (j.state as JobEvent['type']));
    }
    for (const s of sends) s();
  }

  private startRanks(job: JobRecord, byName: Map<string, NodeRecord>): void {
    for (const r of job.ranks) this.sendStart(job, r, byName);
  }

  private sendStart(job: JobRecord, r: RankRecord, byName: Map<string, NodeRecord>): void {
    const env = rankEnv(job, r, (n) => byName.get(n) ?? this.deps.cluster.get(n));
    const sent = this.deps.send(r.node, {
      startTask: {
        jobId: job.id,
        rank: r.rank,
        epoch: job.epoch,
        command: job.spec.command,
        env,
        workdir: job.spec.workdir ?? '',
        runAs: job.spec.runAs ?? '',
        gpus: r.gpus,
        graceSeconds: job.spec.preemptGraceSeconds,
      },
    });
    if (!sent) this.deps.log.warn({ job: job.id, rank: r.rank, node: r.node }, 'node has no stream; the start goes out when it reconnects');
  }

  private stopRanks(job: JobRecord, reason: string, except?: (r: RankRecord) => boolean): void {
    for (const r of job.ranks) {
      if (r.state === 'exited' || except?.(r)) continue;
      this.deps.send(r.node, { stopTask: { jobId: job.id, rank: r.rank, epoch: job.epoch, graceSeconds: job.spec.preemptGraceSeconds, reason } });
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
   */
  onTaskReport(node: string, t: TaskReport): Promise<void> {
    return this.serial(() => this.applyTaskReport(node, t));
  }

  private async applyTaskReport(node: string, t: TaskReport): Promise<void> {
    const job = this.jobs.get(t.jobId);
    const rank = job?.ranks.find((r) => r.rank === t.rank);
    const current = job && ACTIVE_JOB_STATES.has(job.state) && job.epoch === t.epoch && rank?.node === node;
    if (!current) {
      if (t.state === 'running' || t.state === 'starting') {
        this.deps.log.warn({ node, job: t.jobId, rank: t.rank, epoch: t.epoch }, 'fencing a task the scheduler does not run');
        this.deps.send(node, { stopTask: { jobId: t.jobId, rank: t.rank, epoch: t.epoch, graceSeconds: job?.spec.preemptGraceSeconds ?? 30, reason: 'fenced: not the current placement' } });
      }
      return;
    }
    let next = this.transition(job, job.state, job.message);
    const r = next.ranks.find((x) => x.rank === t.rank)!;
    const sends: Array<() => void> = [];
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
      r.exitCode = t.exitCode;
      r.signal = t.signal;
      const failed = t.state === 'failed-to-start' || t.exitCode !== 0;
      if (failed) {
        const what = t.state === 'failed-to-start' ? `failed to start: ${t.message}` : t.signal ? `was killed by ${t.signal}` : `exited with code ${t.exitCode}`;
        const f = this.failGang(next, `rank ${t.rank} on ${node} ${what}`);
        next = f.next;
        sends.push(f.send);
      } else if (next.ranks.every((x) => x.state === 'exited' && x.exitCode === 0)) {
        if (!next.startedMs) next.startedMs = this.deps.clock.nowMs();
        next = this.finish(next, 'succeeded', `all ${next.ranks.length} ranks exited 0`);
      }
    }
    await this.commitAndSend([next], sends);
    if (!ACTIVE_JOB_STATES.has(next.state)) this.trigger('task exit');
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
    for (const t of tasks) await this.applyTaskReport(node, t);
    for (const job of [...this.jobs.values()]) {
      if (!ACTIVE_JOB_STATES.has(job.state)) continue;
      for (const r of job.ranks) {
        if (r.node !== node || announced.has(`${job.id}/${r.rank}/${job.epoch}`) || r.state === 'exited') continue;
        if (r.state === 'starting') {
          const current = this.jobs.get(job.id)!;
          this.sendStart(current, r, new Map());
        } else {
          const f = this.failGang(job, `rank ${r.rank} on ${node} is gone after the agent reconnected`);
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
          const f = this.failGang(job, `node ${t.node.name} was lost`);
          await this.commitAndSend([f.next], [f.send]);
        }
      })
        .then(() => this.trigger('node lost'))
        .catch((e: unknown) => this.deps.log.error({ err: e }, 'handling a lost node failed'));
      return;
    }
    if (t.type !== 'reconnected') this.trigger(`node ${t.type}`);
  }

  private publish(job: JobRecord, type: JobEvent['type']): void {
    const e: JobEvent = {
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
    this.deps.events.publish(e);
    this.deps.log.info({ job: job.id, state: job.state, epoch: job.epoch, attempt: job.attempt }, job.message || `job ${type}`);
  }

  static isJobId(id: string): boolean {
    return JOB_ID.test(id);
  }
}
