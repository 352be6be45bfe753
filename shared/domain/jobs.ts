import type { JobSpec } from '../jobspec/index.js';

/**
 * pending → placed → starting → running → succeeded | failed | cancelled | timeout; requeued waits
 * out its backoff, then pending. `timeout`: a rank was stopped at the job's time limit (onTimeLimit: fail).
 */
export type JobState = 'pending' | 'placed' | 'starting' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timeout' | 'requeued';
export type RankState = 'starting' | 'running' | 'exited';

/**
 * Why a gang stopped short and left its run, as data (worded for people by
 * scheduler/jobs/causes.ts, never read back from the text). A cause either uses a retry (the gang
 * failed: requeued with backoff while retries remain, else failed) or does not (the scheduler took
 * the GPUs back: requeued at once). Later kinds (a time limit, a health eviction) join this union.
 */
export type RequeueCause =
  /** A rank's process exited non-zero or was killed by a signal. */
  | { kind: 'rank-exited'; rank: number; node: string; exitCode: number | null; signal: string | null }
  /** A rank's process could not be spawned. */
  | { kind: 'rank-failed-to-start'; rank: number; node: string; error: string }
  /** The rank's agent reconnected without it. */
  | { kind: 'rank-gone'; rank: number; node: string }
  | { kind: 'node-lost'; node: string }
  /** Evicted for a job it outranks; `lostWorkGpuMs`: GPU-ms since its start or last checkpoint. */
  | { kind: 'preempted'; by: string; priority: number; queue: string; lostWorkGpuMs: number }
  /** A node it ran on was drained and the drain's deadline passed. */
  | { kind: 'drain-deadline'; node: string }
  /**
   * A rank's agent refused the job's Unix account (`account`, '' for the agent's own) before
   * anything ran: not in its runner.allowedUsers, root without runner.allowRoot, unknown there.
   * The job fails: a retry would meet the same agent.
   */
  | { kind: 'run-as-refused'; rank: number; node: string; account: string; error: string }
  /**
   * A rank was stopped by its agent at the job's deadline (timeLimit). No retry used: the job
   * ends in state `timeout`, or with onTimeLimit: requeue is requeued like a preemption.
   */
  | { kind: 'time-limit'; rank: number; node: string; limitSeconds: number }
  /** A rank was killed at its memory limit (resources.memoryGiBPerRank): an ordinary failure, retries apply. */
  | { kind: 'out-of-memory'; rank: number; node: string; exitCode: number | null; signal: string | null }
  /**
   * The node's prolog failed before the rank started (issue 20): no retry used, the job is
   * requeued elsewhere at once and the node drained. `nodes`: the nodes whose prolog has failed
   * for this job so far (the job is held once there are health.prologFailuresToHold of them).
   */
  | { kind: 'prolog-failed'; rank: number; node: string; error: string }
  /**
   * A node it ran on got a health verdict whose action is evict (a fail verdict): the gang was
   * stopped and requeued, no retry used. `checks`: the verdicts' checks (e.g. "xid gpu 3").
   */
  | { kind: 'node-unhealthy'; node: string; checks: string[] }
  /**
   * The driver reported an application XID (13, 31, 43, 45, 94) from one of its rank's processes:
   * the job's fault, not the node's. An ordinary failure: retries apply.
   */
  | { kind: 'application-xid'; rank: number; node: string; xid: number; gpu: number; pid: number };

/**
 * Why an agent refused to start a task, as a stable code (TaskStatus.refusal): the scheduler acts
 * on the code, never on the message. `run-as-refused`: the agent will not run ranks as the job's account.
 */
export type StartRefusal = 'run-as-refused' | 'prolog-failed';
export const START_REFUSALS: ReadonlySet<StartRefusal> = new Set(['run-as-refused', 'prolog-failed']);

export const ACTIVE_JOB_STATES: ReadonlySet<JobState> = new Set(['placed', 'starting', 'running']);
export const TERMINAL_JOB_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled', 'timeout']);

/** How a finished rank ended when it was not simply its own exit (TaskStatus.ended_by). */
export type RankEndCause = 'timeout' | 'oom' | 'stopped';
export const RANK_END_CAUSES: ReadonlySet<RankEndCause> = new Set(['timeout', 'oom', 'stopped']);

/** What was measured of a finished rank (from its cgroups, TaskStatus.usage); null: not measured. */
export interface RankUsage {
  /** CPU time, user + system, in microseconds. */
  cpuUsec: number | null;
  memoryPeakBytes: number | null;
  /** Processes the kernel killed at the rank's memory limit. */
  oomKills: number | null;
}

export interface RankRecord {
  rank: number;
  /** Replica or shard index; 0 for training. */
  unit: number;
  node: string;
  gpus: number[];
  gpuUuids: string[];
  /** The rank's path in the topology tree, e.g. spine-0.leaf-1.hgx-03. */
  topologyAddress: string;
  state: RankState;
  exitCode: number | null;
  signal: string | null;
  /** Its unit's MASTER_PORT (reserved on the unit's rank 0 node); absent in records from before per-unit ports: the job's. */
  masterPort?: number;
  /** Set when the rank never started (its process could not be spawned): why; exitCode is then null. */
  startError?: string;
  /** The placement epoch this rank was started in, when it differs from the job's (a replaced or added inference replica keeps others' epochs). */
  epoch?: number;
  /** A finished rank: how it ended, when not by its own exit (absent: its own exit, or not said). */
  endedBy?: RankEndCause;
  /** A finished rank: what its agent measured (absent: nothing measured). */
  usage?: RankUsage;
  /** When the scheduler placed it (unix ms; usage accounting: its GPUs reserved from then). Absent in records from before. */
  placedMs?: number;
  /** When its process started, as its agent measured it (TaskStatus.started_unix_ms). Absent: not reported. */
  startedMs?: number;
  /** When its process ended, as its agent measured it (TaskStatus.finished_unix_ms). Absent: not reported. */
  endedMs?: number;
}

/**
 * The Unix account a job's ranks run as ('' = the agent's own account, the behaviour before
 * accounts were tied to identities). The one place the scheduler reads it: placement's allow-list
 * filter, the submit check, StartTask.run_as and a refusal's cause all ask here.
 */
export function jobRunAs(job: Pick<JobRecord, 'spec' | 'runAs'>): string {
  // The account resolved at submit (auth.runAs); records from before accounts were resolved: the spec's.
  return job.runAs ?? job.spec.runAs ?? '';
}

/** The epoch a rank's task runs under: its own (replicas placed later) or the job's. */
export function rankEpoch(job: Pick<JobRecord, 'epoch'>, rank: Pick<RankRecord, 'epoch'>): number {
  return rank.epoch ?? job.epoch;
}

export interface JobRecord {
  id: string;
  spec: JobSpec;
  owner: string;
  /** Who submitted it, as the scheduler verified the caller (the owner, or an admin submitting for it); absent in records from before identities. */
  submittedBy?: string;
  /** The submitter's idempotency key (SubmitJobRequest.request_id): a resubmit naming it gets this job. Absent: none given. */
  requestId?: string;
  /**
   * The Unix account its ranks run as, resolved at submit from the spec's runAs and the owner's
   * accounts (auth.runAs); '' = the agent's own account. Absent in records from before: the spec's runAs.
   */
  runAs?: string;
  state: JobState;
  /** Why it is in this state: a failure's cause, a requeue's reason, a cancel's. */
  message: string;
  /** Retries used so far (the first run is attempt 0). */
  attempt: number;
  /** Incremented at every placement; commands and reports of an older epoch are refused. */
  epoch: number;
  submittedMs: number;
  updatedMs: number;
  startedMs: number;
  finishedMs: number;
  /** When a requeued job becomes pending again. */
  requeueAtMs: number;
  ranks: RankRecord[];
  /** MASTER_PORT reserved on rank 0's node while the job is active. */
  masterPort: number;
  /** Inference: the replica count wanted now (autoscaling moves it between replicas.min and max). */
  replicasTarget?: number;
  /**
   * Why it was last requeued or failed with a cause (kept while it waits to run again; cleared when
   * placed). Absent: no such cause, or a record from before causes were stored.
   */
  cause?: RequeueCause;
  /**
   * Unix ms at which this epoch's ranks are stopped for the time limit: the placement's time (the
   * cycle that started the epoch, the start backfill plans with) + timeLimitSeconds. Absent: no limit.
   */
  deadlineMs?: number;
  /** Latest checkpoint a rank reported (unix ms; 0 or absent: none): preemption counts lost work from here. */
  lastCheckpointMs?: number;
  /** Application XIDs its agents attributed to its ranks (issue 20), oldest first, the last MAX_JOB_FAULTS. Absent: none. */
  faults?: JobFaultRecord[];
  /**
   * Nodes whose prolog failed for this job (issue 20), distinct, in the order they failed: the
   * planner places the job elsewhere. Cleared when an operator releases a held job. Absent: none.
   */
  prologFailedOn?: string[];
  /**
   * Held (issue 20): its prolog failed on health.prologFailuresToHold distinct nodes. The job stays
   * pending but out of scheduling until an operator releases it (`gantry release`); `reason` names
   * the nodes and the last error. Absent: not held.
   */
  held?: JobHold;
}

/** At most this many faults are kept on a job record (the oldest go first). */
export const MAX_JOB_FAULTS = 20;

/** An application XID (13, 31, 43, 45, 94) an agent attributed to one of a job's ranks. */
export interface JobFaultRecord {
  xid: number;
  rank: number;
  epoch: number;
  node: string;
  /** GPU index on that node; null: the XID's PCI address matched no GPU the agent knows. */
  gpu: number | null;
  pid: number;
  processName: string;
  /** When the agent read the kernel message (unix ms). */
  atMs: number;
  /** The kernel message (bounded). */
  evidence: string;
}

/** Why and since when a job is held out of scheduling (JobRecord.held). */
export interface JobHold {
  reason: string;
  atMs: number;
}
