/**
 * A job's lifecycle, pure: `step(job, event, ctx) → { job, commands, events }`. No I/O, no clock
 * (the time comes in ctx), no randomness; the job manager loads the record, calls this, commits
 * the new record with the events, and only then carries out the commands.
 *
 *   state       event                 → state        commands                      events
 *   (none)      submitted             → pending      -                             submitted
 *   pending     placed                → placed       start every rank              placed
 *   placed      rank starting/running → starting     -                             -
 *   placed,
 *   starting    last rank running     → running      -                             running
 *   active      rank exited 0, last   → succeeded    schedule                      succeeded
 *   active      rank failed           → requeue(rank-exited | rank-failed-to-start)
 *   active      rank refused account  → requeue(run-as-refused): failed at once, no retry used
 *   active      rank ended: timeout   → requeue(time-limit): timeout (stop ranks, schedule; event
 *                                       timeout), no retry used; onTimeLimit requeue: requeued at once
 *   active      rank ended: oom       → requeue(out-of-memory): an ordinary failure (retries apply)
 *   active      rank gone             → requeue(rank-gone)
 *   active      node lost             → requeue(node-lost)
 *   active      preempted             → requeue(preempted)
 *   active      drain deadline        → requeue(drain-deadline)
 *   active      fault (current epoch) → requeue(application-xid), the fault recorded     fault, requeued
 *                                       (a running service with other replicas: that replica replaced)
 *   requeued,
 *   failed      fault (same epoch, the run ended by a rank's exit or loss) → (same), the
 *                                       cause becomes application-xid, no retry spent again  fault
 *   other       fault of a placed rank → (same), the fault recorded                       fault
 *   any         fault of another node/epoch, or again (same XID, pid, rank, epoch) → no-op
 *   active      node unhealthy        → requeue(node-unhealthy): a node of it failed its health checks
 *                                       (action evict); no retry used, the stop's grace at most
 *                                       withinSeconds (health.evictWithinMs); a cycle asked for
 *   active      rank refused: prolog  → requeue(prolog-failed): no retry used, the node joins
 *                                       prologFailedOn (the planner avoids it for this job); a cycle
 *                                       asked for. At ctx.prologFailuresToHold distinct nodes the job
 *                                       is also held (held: reason), out of scheduling
 *   held        release               → (same state) held and prologFailedOn cleared; schedule   pending
 *   requeued    backoff over          → pending      -                             pending
 *   pending     unplaceable           → failed       -                             failed
 *   unfinished  cancel                → cancelled    stop ranks (+ schedule)       cancelled
 *   finished    exit of a current rank → (same)      -                             -   (its exit and usage kept, written behind)
 *
 * requeue(cause) is the one way a gang leaves its run short. A cause that uses a retry (causes.ts)
 * requeues with backoff while retries remain, else fails; one that uses none (preemption, a
 * drain) requeues at once; one that fails the job (an agent refused its account: the report's
 * refusal code `run-as-refused`) fails it at once, whatever its kind. Either way every rank is stopped. A running inference service that keeps
 * other replicas loses only the affected replicas instead (the `replica` event; the next cycle
 * places replacements). Reports of another epoch or node are not the current placement: the task
 * is fenced (stopped) and the record is unchanged. Anything else is a no-op: the same record
 * comes back (the shell writes nothing).
 *
 * Commands and events are values. The shell writes a record with commands or events at once
 * (commit, then send); a record with neither (a rank reported running) is written behind.
 * New transitions (a time limit, a health eviction) are a new event and, where they requeue, a
 * new RequeueCause kind. About 470 lines, over the usual 400: one state machine's
 * transitions in one file, read against the table above.
 */
import {
  ACTIVE_JOB_STATES,
  TERMINAL_JOB_STATES,
  MAX_JOB_FAULTS,
  jobRunAs,
  rankEpoch,
  type JobFaultRecord,
  type JobRecord,
  type JobState,
  type RankEndCause,
  type RankRecord,
  type RankUsage,
  type RequeueCause,
  type StartRefusal,
} from '../../shared/domain/index.js';
import type { JobEvent } from '../../shared/events/index.js';
import type { JobSpec } from '../../shared/jobspec/index.js';
import { causePolicy, causeText, exhaustedText, refusedText, requeuedText, stopReason, timedOutText, usesRetry } from './causes.js';
import { requeueDelayMs } from './rank-env.js';

/** A task's status as an agent reports it. */
export interface RankReport {
  rank: number;
  epoch: number;
  state: 'starting' | 'running' | 'exited' | 'failed-to-start';
  exitCode: number | null;
  signal: string | null;
  message: string;
  checkpointMs?: number;
  /** failed-to-start: the agent's stable code for why it refused the task (absent: none). */
  refusal?: StartRefusal;
  /** exited: how it ended when not by its own exit (`timeout`: the job's time limit; `oom`: its memory limit). */
  endedBy?: RankEndCause;
  /** exited: what its agent measured (kept on the rank record). */
  usage?: RankUsage;
  /** When the agent started the rank's process (unix ms; 0 or absent: not said): kept on the rank (usage accounting). */
  startedMs?: number;
  /** exited: when the process ended, as the agent measured it (unix ms; 0 or absent: not said). */
  finishedMs?: number;
}

export type LifecycleEvent =
  | { type: 'placed'; ranks: RankRecord[]; replicas?: number }
  | { type: 'rank-reported'; node: string; report: RankReport }
  | { type: 'rank-gone'; rank: number; node: string }
  | { type: 'node-lost'; node: string }
  | { type: 'preempted'; by: { id: string; priority: number; queue: string }; lostWorkGpuMs: number }
  | { type: 'drain-deadline'; node: string }
  /** A node of the gang failed its health checks (action evict): `withinSeconds` caps the stop's grace. */
  | { type: 'node-unhealthy'; node: string; checks: string[]; withinSeconds: number }
  /** An operator releases a held job (`by`: who). */
  | { type: 'release'; by: string }
  | { type: 'backoff-over' }
  | { type: 'unplaceable'; message: string }
  | { type: 'cancel'; reason: string }
  /** An application XID an agent attributed to a rank of this job (issue 20 point 3). */
  | { type: 'fault'; fault: JobFaultRecord };

/** A rank's task to stop: its node, epoch and GPUs. */
export interface StopTask {
  rank: number;
  node: string;
  epoch: number;
  gpus: number[];
}

export type JobCommand =
  /** Start these ranks of the outcome's job. */
  | { kind: 'start'; ranks: RankRecord[] }
  /** SIGTERM, then SIGKILL after graceSeconds; the GPUs stay taken until the ranks are gone. `forJob`: the preemptor, if any. */
  | { kind: 'stop'; tasks: StopTask[]; graceSeconds: number; reason: string; forJob: string }
  /** Stop a task that is not the current placement (it holds nothing the scheduler knows of). */
  | { kind: 'fence'; jobId: string; node: string; rank: number; epoch: number; graceSeconds: number }
  /** Capacity was freed or a replica is missing: a scheduling cycle should run. */
  | { kind: 'schedule'; why: string };

export type FenceCommand = Extract<JobCommand, { kind: 'fence' }>;

export interface Outcome {
  /** The new record; the very same object when nothing changed. */
  job: JobRecord;
  commands: JobCommand[];
  /** Event types to publish about the new record, in order. */
  events: Array<JobEvent['type']>;
  /** Set when the event is refused (cancelling a finished job): the record is unchanged. */
  refused?: string;
}

export interface LifecycleContext {
  nowMs: number;
  requeueInitialMs: number;
  requeueMaxMs: number;
  /** A job is held once its prolog failed on this many distinct nodes (health.prologFailuresToHold; default 3). */
  prologFailuresToHold?: number;
}

export const DEFAULT_PROLOG_FAILURES_TO_HOLD = 3;

export const FENCE_REASON = 'fenced: not the current placement';

/** A new job, pending. */
/** `by`: who submitted it and the account its ranks run as, when the API resolved them (issue 17). */
export function submitted(id: string, spec: JobSpec, owner: string, nowMs: number, by?: { submittedBy: string; runAs: string }): Outcome {
  const job: JobRecord = {
    id,
    spec,
    owner,
    ...(by ? { submittedBy: by.submittedBy, runAs: by.runAs } : {}),
    state: 'pending',
    message: 'waiting for the next scheduling cycle',
    attempt: 0,
    epoch: 0,
    submittedMs: nowMs,
    updatedMs: nowMs,
    startedMs: 0,
    finishedMs: 0,
    requeueAtMs: 0,
    ranks: [],
    masterPort: 0,
  };
  return { job, commands: [], events: ['submitted'] };
}

export function step(job: JobRecord, ev: LifecycleEvent, ctx: LifecycleContext): Outcome {
  switch (ev.type) {
    case 'placed':
      return placed(job, ev.ranks, ev.replicas, ctx);
    case 'rank-reported':
      return rankReported(job, ev.node, ev.report, ctx);
    case 'rank-gone':
      if (!ACTIVE_JOB_STATES.has(job.state)) return same(job);
      return loseRanks(job, (r) => r.rank === ev.rank, { kind: 'rank-gone', rank: ev.rank, node: ev.node }, ctx);
    case 'node-lost':
      if (!ACTIVE_JOB_STATES.has(job.state) || !job.ranks.some((r) => r.node === ev.node && r.state !== 'exited')) return same(job);
      return loseRanks(job, (r) => r.node === ev.node, { kind: 'node-lost', node: ev.node }, ctx);
    case 'preempted':
      if (!ACTIVE_JOB_STATES.has(job.state)) return same(job);
      return requeue(job, { kind: 'preempted', by: ev.by.id, priority: ev.by.priority, queue: ev.by.queue, lostWorkGpuMs: ev.lostWorkGpuMs }, ctx);
    case 'drain-deadline':
      if (!ACTIVE_JOB_STATES.has(job.state)) return same(job);
      return requeue(job, { kind: 'drain-deadline', node: ev.node }, ctx);
    case 'node-unhealthy':
      if (!ACTIVE_JOB_STATES.has(job.state) || !job.ranks.some((r) => r.node === ev.node && r.state !== 'exited')) return same(job);
      return loseRanks(job, (r) => r.node === ev.node, { kind: 'node-unhealthy', node: ev.node, checks: [...ev.checks] }, ctx, ev.withinSeconds);
    case 'release':
      return release(job, ev.by, ctx);
    case 'backoff-over':
      if (job.state !== 'requeued' || job.requeueAtMs > ctx.nowMs) return same(job);
      // Why it left its last run stays its message when no retry was used (preempted, drained).
      return { job: touch(job, 'pending', job.cause && !usesRetry(job.cause) ? job.message : `retry ${job.attempt} of ${job.spec.maxRetries}`, ctx), commands: [], events: ['pending'] };
    case 'unplaceable':
      if (job.state !== 'pending') return same(job);
      return { job: unplaceable(job, ev.message, ctx), commands: [], events: ['failed'] };
    case 'cancel':
      return cancel(job, ev.reason, ctx);
    case 'fault':
      return faulted(job, ev.fault, ctx);
  }
}

/** A copy with a new state and message (ranks copied: the copy may change them). */
export function touch(job: JobRecord, state: JobState, message: string, ctx: Pick<LifecycleContext, 'nowMs'>): JobRecord {
  return { ...job, ranks: job.ranks.map((r) => ({ ...r })), state, message, updatedMs: ctx.nowMs };
}

function finish(job: JobRecord, state: 'failed' | 'succeeded' | 'cancelled' | 'timeout', message: string, ctx: LifecycleContext): JobRecord {
  const next = touch(job, state, message, ctx);
  next.finishedMs = ctx.nowMs;
  return next;
}

/** Failed: its spec cannot be placed on this cluster (no cause: nothing ran). */
function unplaceable(job: JobRecord, message: string, ctx: LifecycleContext): JobRecord {
  const next = finish(job, 'failed', message, ctx);
  delete next.cause;
  return next;
}

function same(job: JobRecord): Outcome {
  return { job, commands: [], events: [] };
}

/** Stop every rank of `ranks` that has not exited, as placed in `job` (its epochs). */
/** `maxGraceSeconds`: the grace is at most this (a health eviction's deadline); absent: the job's own. */
export function stopCommand(job: JobRecord, ranks: readonly RankRecord[], reason: string, forJob = '', maxGraceSeconds?: number): JobCommand {
  const tasks: StopTask[] = [];
  for (const r of ranks) if (r.state !== 'exited') tasks.push({ rank: r.rank, node: r.node, epoch: rankEpoch(job, r), gpus: [...r.gpus] });
  const graceSeconds = maxGraceSeconds === undefined ? job.spec.preemptGraceSeconds : Math.max(0, Math.min(job.spec.preemptGraceSeconds, maxGraceSeconds));
  return { kind: 'stop', tasks, graceSeconds, reason, forJob };
}

function placed(job: JobRecord, ranks: RankRecord[], replicas: number | undefined, ctx: LifecycleContext): Outcome {
  if (job.state !== 'pending') return same(job);
  const next = touch(job, 'placed', `placed on ${new Set(ranks.map((r) => r.node)).size} node(s)`, ctx);
  next.epoch = job.epoch + 1;
  next.ranks = ranks.map((r) => ({ ...r, placedMs: ctx.nowMs }));
  next.masterPort = ranks[0]?.masterPort ?? 0;
  delete next.cause;
  // The epoch's deadline: its start as backfill planned it (this cycle) + the time limit.
  if (job.spec.timeLimitSeconds) next.deadlineMs = ctx.nowMs + job.spec.timeLimitSeconds * 1000;
  else delete next.deadlineMs;
  if (job.spec.kind === 'Inference' && replicas !== undefined) next.replicasTarget = replicas;
  return { job: next, commands: [{ kind: 'start', ranks: next.ranks }], events: ['placed'] };
}

function cancel(job: JobRecord, reason: string, ctx: LifecycleContext): Outcome {
  if (TERMINAL_JOB_STATES.has(job.state)) return { ...same(job), refused: `job ${job.id} is already ${job.state}` };
  const commands: JobCommand[] = [stopCommand(job, job.ranks, 'cancelled')];
  // Its GPUs are free once its ranks are gone: waiting jobs need not wait for the timer's cycle.
  if (ACTIVE_JOB_STATES.has(job.state)) commands.push({ kind: 'schedule', why: 'cancel' });
  return { job: finish(job, 'cancelled', reason || 'cancelled by request', ctx), commands, events: ['cancelled'] };
}

/**
 * The one requeue: the whole gang stops; it is requeued (with backoff, a retry spent, while
 * retries remain, for a cause that uses one; at once for one that does not), else it fails.
 */
export function requeue(job: JobRecord, cause: RequeueCause, ctx: LifecycleContext, maxGraceSeconds?: number): Outcome {
  const stop = stopCommand(job, job.ranks, stopReason(cause), cause.kind === 'preempted' ? cause.by : '', maxGraceSeconds);
  const policy = causePolicy(cause, job.spec.onTimeLimit);
  if (policy === 'timeout') {
    const next = finish(job, 'timeout', timedOutText(cause), ctx);
    next.cause = cause;
    return { job: next, commands: [stop, { kind: 'schedule', why: cause.kind }], events: ['timeout'] };
  }
  if (policy === 'fail') {
    const next = finish(job, 'failed', refusedText(cause), ctx);
    next.cause = cause;
    return { job: next, commands: [stop, { kind: 'schedule', why: cause.kind }], events: ['failed'] };
  }
  if (policy === 'free') {
    const next = touch(job, 'requeued', requeuedText(cause, job.attempt, job.spec.maxRetries), ctx);
    next.requeueAtMs = ctx.nowMs;
    next.cause = cause;
    // A time limit frees GPUs no other job asked for (a preemptor's cycle places it, a drain's
    // node takes nothing): a cycle is asked for, so the requeued job is tried again at once. So
    // does a health eviction or a failed prolog: the job goes elsewhere at once.
    const again = cause.kind === 'time-limit' || cause.kind === 'node-unhealthy' || cause.kind === 'prolog-failed';
    return { job: next, commands: again ? [stop, { kind: 'schedule', why: cause.kind }] : [stop], events: ['requeued'] };
  }
  const commands: JobCommand[] = [stop, { kind: 'schedule', why: cause.kind }];
  if (job.attempt < job.spec.maxRetries) {
    const next = touch(job, 'requeued', requeuedText(cause, job.attempt + 1, job.spec.maxRetries), ctx);
    next.attempt = job.attempt + 1;
    next.requeueAtMs = ctx.nowMs + requeueDelayMs(next.attempt, ctx.requeueInitialMs, ctx.requeueMaxMs);
    next.cause = cause;
    return { job: next, commands, events: ['requeued'] };
  }
  const next = finish(job, 'failed', exhaustedText(cause, job.spec.maxRetries), ctx);
  next.cause = cause;
  return { job: next, commands, events: ['failed'] };
}

/** How many replicas (units) a job has placed. */
export function replicaCount(job: Pick<JobRecord, 'ranks'>): number {
  return new Set(job.ranks.map((r) => r.unit)).size;
}

/**
 * Ranks matching `lost` are gone. A running inference service that keeps other replicas loses
 * only the affected replicas, which the next cycle replaces one by one; any other job is a gang:
 * requeued whole.
 */
function loseRanks(job: JobRecord, lost: (r: RankRecord) => boolean, cause: RequeueCause, ctx: LifecycleContext, maxGraceSeconds?: number): Outcome {
  const units = new Set(job.ranks.filter(lost).map((r) => r.unit));
  const survivors = job.ranks.filter((r) => !units.has(r.unit));
  if (job.spec.kind !== 'Inference' || job.state !== 'running' || survivors.length === 0) return requeue(job, cause, ctx, maxGraceSeconds);
  const gone = job.ranks.filter((r) => units.has(r.unit));
  const next = touch(job, job.state, '', ctx);
  next.ranks = survivors.map((r) => ({ ...r, epoch: rankEpoch(job, r) }));
  const which = [...units].join(', ');
  next.message = `${causeText(cause)}; replacing replica ${which} (${replicaCount(next)} of ${job.replicasTarget ?? '?'} replicas running)`;
  return {
    job: next,
    commands: [stopCommand(job, gone, `replica ${which} is being replaced`, '', maxGraceSeconds), { kind: 'schedule', why: 'replica lost' }],
    events: ['replica'],
  };
}

function rankReported(job: JobRecord, node: string, t: RankReport, ctx: LifecycleContext): Outcome {
  // Ranks are stored in rank order, so the report's rank is usually at its own index.
  const atIndex = job.ranks[t.rank];
  const rank = atIndex?.rank === t.rank ? atIndex : job.ranks.find((r) => r.rank === t.rank);
  const alive = t.state === 'running' || t.state === 'starting';
  if (!rank || !ACTIVE_JOB_STATES.has(job.state) || rankEpoch(job, rank) !== t.epoch || rank.node !== node) {
    if (alive) return { job, commands: [fence(job.id, job.spec.preemptGraceSeconds, node, t)], events: [] };
    return lateExit(job, rank, node, t, ctx);
  }
  if (alive && rank.state === 'exited') return same(job);
  // Only the reported rank changes: it alone is copied (the other ranks are shared with the
  // record it replaces; whatever changes them later copies the record first, as touch does).
  // A copy of every rank per report made a gang's starts quadratic: 512 ranks × 512 reports.
  const r: RankRecord = { ...rank };
  const ranks = job.ranks.slice();
  ranks[atIndex === rank ? t.rank : ranks.indexOf(rank)] = r;
  const next: JobRecord = { ...job, ranks, updatedMs: ctx.nowMs };
  if (t.checkpointMs && t.checkpointMs > (job.lastCheckpointMs ?? 0)) next.lastCheckpointMs = t.checkpointMs;
  if (alive) {
    r.state = t.state === 'running' ? 'running' : 'starting';
    if (t.startedMs && t.startedMs > 0) r.startedMs = t.startedMs;
    if (next.state !== 'running' && next.ranks.every((x) => x.state === 'running' || (x.state === 'exited' && x.exitCode === 0))) {
      next.state = 'running';
      next.message = `all ${next.ranks.length} ranks running`;
      next.startedMs = ctx.nowMs;
      return { job: next, commands: [], events: ['running'] };
    }
    // The first rank heard from: the gang is starting (no event: `placed` said where it goes).
    if (next.state === 'placed') next.state = 'starting';
    return { job: next, commands: [], events: [] };
  }
  exited(r, t);
  if (t.state === 'failed-to-start') {
    r.startError = t.message;
    // The agent refused the job's account: the whole job fails (a running service too), no retry used.
    if (t.refusal === 'run-as-refused') return requeue(next, { kind: 'run-as-refused', rank: t.rank, node, account: jobRunAs(job), error: t.message }, ctx);
    // The node's prolog failed: the whole job goes elsewhere (a service too), no retry used.
    if (t.refusal === 'prolog-failed') return prologFailed(next, t.rank, node, t.message, ctx);
    return loseRanks(next, (x) => x.rank === t.rank, { kind: 'rank-failed-to-start', rank: t.rank, node, error: t.message }, ctx);
  }
  // Stopped at the deadline: the whole job times out (or is requeued), whatever the exit code.
  if (t.endedBy === 'timeout') return requeue(next, { kind: 'time-limit', rank: t.rank, node, limitSeconds: job.spec.timeLimitSeconds ?? 0 }, ctx);
  if (t.endedBy === 'oom') return loseRanks(next, (x) => x.rank === t.rank, { kind: 'out-of-memory', rank: t.rank, node, exitCode: t.exitCode, signal: t.signal }, ctx);
  if (t.exitCode !== 0) return loseRanks(next, (x) => x.rank === t.rank, { kind: 'rank-exited', rank: t.rank, node, exitCode: t.exitCode, signal: t.signal }, ctx);
  if (!next.ranks.every((x) => x.state === 'exited' && x.exitCode === 0)) return { job: next, commands: [], events: [] };
  if (!next.startedMs) next.startedMs = ctx.nowMs;
  return { job: finish(next, 'succeeded', `all ${next.ranks.length} ranks exited 0`, ctx), commands: [{ kind: 'schedule', why: 'task exit' }], events: ['succeeded'] };
}

/**
 * The prolog on `node` failed before `rank` started: requeued elsewhere at once (no retry used), the
 * node remembered in prologFailedOn; at ctx.prologFailuresToHold distinct nodes the job is held.
 */
function prologFailed(job: JobRecord, rank: number, node: string, error: string, ctx: LifecycleContext): Outcome {
  const out = requeue(job, { kind: 'prolog-failed', rank, node, error }, ctx);
  const failedOn = [...new Set([...(job.prologFailedOn ?? []), node])];
  out.job.prologFailedOn = failedOn;
  if (out.job.state === 'requeued' && failedOn.length >= (ctx.prologFailuresToHold ?? DEFAULT_PROLOG_FAILURES_TO_HOLD)) {
    const reason = `prolog failed on ${failedOn.join(', ')}: ${error}; held until released (gantry release ${job.id})`;
    out.job.held = { reason, atMs: ctx.nowMs };
    out.job.message = reason;
  }
  return out;
}

/** An operator releases a held job: it may be placed again, on any node (its prolog failures are forgotten). */
function release(job: JobRecord, by: string, ctx: LifecycleContext): Outcome {
  if (!job.held) return { ...same(job), refused: `job ${job.id} is not held` };
  const next = touch(job, job.state, `released by ${by || 'an operator'} (was: ${job.held.reason}); waiting for the next scheduling cycle`, ctx);
  delete next.held;
  delete next.prologFailedOn;
  return { job: next, commands: [{ kind: 'schedule', why: 'released' }], events: ['pending'] };
}

/** A rank record's exit from a report: state, code, signal, how it ended and its usage. */
function exited(r: RankRecord, t: RankReport): void {
  r.state = 'exited';
  r.exitCode = t.state === 'failed-to-start' ? null : t.exitCode;
  r.signal = t.signal;
  if (t.endedBy) r.endedBy = t.endedBy;
  if (t.usage) r.usage = { ...t.usage };
  if (t.startedMs && t.startedMs > 0) r.startedMs = t.startedMs;
  if (t.finishedMs && t.finishedMs > 0) r.endedMs = t.finishedMs;
}

/**
 * The exit of a rank of this epoch, on its node, that arrives once the job left its run (timed out,
 * failed, cancelled: its other ranks were stopped): kept on the rank, so the job shows how every
 * rank ended and what it used. Nothing else changes (no command, no event: written behind).
 */
function lateExit(job: JobRecord, rank: RankRecord | undefined, node: string, t: RankReport, ctx: LifecycleContext): Outcome {
  if (!rank || rank.state === 'exited' || t.state !== 'exited' || ACTIVE_JOB_STATES.has(job.state) || rankEpoch(job, rank) !== t.epoch || rank.node !== node) return same(job);
  const r: RankRecord = { ...rank };
  exited(r, t);
  return { job: { ...job, ranks: job.ranks.map((x) => (x === rank ? r : x)), updatedMs: ctx.nowMs }, commands: [], events: [] };
}

/** The stop for a reported task that is not the current placement (`graceSeconds`: its job's, 30 s for an unknown job). */
export function fence(jobId: string, graceSeconds: number, node: string, t: Pick<RankReport, 'rank' | 'epoch'>): FenceCommand {
  return { kind: 'fence', jobId, node, rank: t.rank, epoch: t.epoch, graceSeconds };
}

/** Causes that say only that a rank ended: a fault of the same run says why, and takes their place. */
const EXIT_CAUSES: ReadonlySet<RequeueCause['kind']> = new Set(['rank-exited', 'rank-gone', 'out-of-memory']);

/**
 * An application XID on one of the job's ranks: the job's fault, not the node's. Recorded (the last
 * MAX_JOB_FAULTS); a run still active is requeued with cause application-xid; a run that already
 * ended by a rank's exit (the rank usually dies of the XID first) keeps its one requeue, now
 * naming the XID. A fault of a rank not placed on that node in that epoch, or one already
 * recorded, changes nothing.
 */
function faulted(job: JobRecord, f: JobFaultRecord, ctx: LifecycleContext): Outcome {
  const rank = job.ranks.find((r) => r.rank === f.rank);
  if (!rank || rank.node !== f.node || rankEpoch(job, rank) !== f.epoch) return same(job);
  if ((job.faults ?? []).some((x) => x.xid === f.xid && x.pid === f.pid && x.rank === f.rank && x.epoch === f.epoch && x.node === f.node)) return same(job);
  const faults = [...(job.faults ?? []), { ...f }].slice(-MAX_JOB_FAULTS);
  const cause: RequeueCause = { kind: 'application-xid', rank: f.rank, node: f.node, xid: f.xid, gpu: f.gpu ?? -1, pid: f.pid };
  if (ACTIVE_JOB_STATES.has(job.state)) {
    // As a rank's failure: a gang is requeued whole; a running service loses only that replica.
    const out = loseRanks({ ...job, faults }, (r) => r.rank === f.rank, cause, ctx);
    return { ...out, events: ['fault', ...out.events] };
  }
  const sameRun = job.epoch === f.epoch && job.cause !== undefined && EXIT_CAUSES.has(job.cause.kind);
  if (sameRun && job.state === 'requeued') {
    const next = touch(job, 'requeued', requeuedText(cause, job.attempt, job.spec.maxRetries), ctx);
    next.cause = cause;
    next.faults = faults;
    return { job: next, commands: [], events: ['fault'] };
  }
  if (sameRun && job.state === 'failed') {
    const next = touch(job, 'failed', exhaustedText(cause, job.spec.maxRetries), ctx);
    next.cause = cause;
    next.faults = faults;
    return { job: next, commands: [], events: ['fault'] };
  }
  return { job: { ...job, faults, updatedMs: ctx.nowMs }, commands: [], events: ['fault'] };
}
