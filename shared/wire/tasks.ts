/**
 * Commands to agents (StartTask, StopTask, the latency peers to probe) as plain values, and their
 * wire form. The scheduler builds the views from its records; only this file turns them into
 * generated protobuf types (main.ts wires the conversion into the agent streams' send). And the
 * agents' answers: a task's status, with the code of a refused start.
 */
import { RANK_END_CAUSES, START_REFUSALS, jobRunAs, rankEpoch, type JobRecord, type RankEndCause, type RankRecord, type RankUsage, type StartRefusal } from '../domain/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { memoryBytesPerRank, RESOURCE_LIMITS, type CpuBinding } from '../jobspec/index.js';
import type { PbStartTaskOut, PbTaskStatus, PbTaskStatusOut, SchedulerMessage } from '../proto/index.js';
import { latencyPeersToPb, serviceSloView, type LatencyPeerView, type ServiceSloView } from './convert.js';
import { usageFromPb, usageToPb } from './usage.js';

export interface StartTaskView {
  jobId: string;
  rank: number;
  epoch: number;
  command: string[];
  env: Record<string, string>;
  workdir: string;
  runAs: string;
  gpus: number[];
  graceSeconds: number;
  /** Set on the first rank of each replica of an Inference job with an SLO. */
  slo?: ServiceSloView;
  /** Unix ms at which the agent stops the rank for the job's time limit; 0: none. */
  deadlineMs: number;
  /** The spec's per-rank limits; absent: the agent's defaults. */
  resources?: TaskResourcesView;
}

/** StartTask.resources: 0 for a limit is the agent's default. */
export interface TaskResourcesView {
  memoryBytes: number;
  maxProcesses: number;
  cpuBinding: CpuBinding;
}

export interface StopTaskView {
  jobId: string;
  rank: number;
  epoch: number;
  graceSeconds: number;
  reason: string;
}

/** A task command to a node's agent. */
export type TaskCommandView = { startTask: StartTaskView; stopTask?: undefined; latencyPeers?: undefined } | { stopTask: StopTaskView; startTask?: undefined; latencyPeers?: undefined };

/** Any command to a node's agent: a task command, or the peers its latency prober probes. */
export type AgentCommandView = TaskCommandView | { latencyPeers: { peers: LatencyPeerView[] }; startTask?: undefined; stopTask?: undefined };

/** The StartTask for one rank of a job, with the environment it gets (rank-env). */
export function startTaskView(job: JobRecord, r: RankRecord, env: Record<string, string>): StartTaskView {
  return {
    jobId: job.id,
    rank: r.rank,
    epoch: rankEpoch(job, r),
    command: job.spec.command,
    env,
    workdir: job.spec.workdir ?? '',
    // The account resolved at submit (the owner's, checked against auth.runAs); older records: the spec's.
    runAs: jobRunAs(job),
    gpus: r.gpus,
    graceSeconds: job.spec.preemptGraceSeconds,
    slo: serviceSloView(job, r),
    deadlineMs: job.deadlineMs ?? 0,
    ...(job.spec.resources
      ? { resources: { memoryBytes: memoryBytesPerRank(job.spec), maxProcesses: job.spec.resources.maxProcesses ?? 0, cpuBinding: job.spec.resources.cpuBinding } }
      : {}),
  };
}

/** A command as the wire carries it; StartTask and StopTask carry the sender's HA term (0: no HA). */
export function agentCommandToPb(c: AgentCommandView, term = 0): SchedulerMessage {
  if (c.startTask) {
    const { deadlineMs, resources, ...rest } = c.startTask;
    return { startTask: { ...rest, deadlineUnixMs: deadlineMs, ...(resources ? { resources } : {}), term } };
  }
  if (c.stopTask) return { stopTask: { ...c.stopTask, term } };
  return { latencyPeers: latencyPeersToPb(c.latencyPeers!.peers) };
}

const TASK_STATE_FROM_PB: Record<string, 'starting' | 'running' | 'exited' | 'failed-to-start'> = {
  TASK_STATE_STARTING: 'starting',
  TASK_STATE_RUNNING: 'running',
  TASK_STATE_EXITED: 'exited',
  TASK_STATE_FAILED_TO_START: 'failed-to-start',
};

/** A task status as the agent reports it, validated (names the field). */
export interface TaskStatusView {
  jobId: string;
  rank: number;
  epoch: number;
  state: 'starting' | 'running' | 'exited' | 'failed-to-start';
  exitCode: number | null;
  signal: string | null;
  startedMs: number;
  finishedMs: number;
  message: string;
  /** Last checkpoint the rank reported (unix ms; 0: none). */
  checkpointMs?: number;
  /** failed-to-start only: why the agent refused it, as a stable code (absent: no code, e.g. a missing workdir). */
  refusal?: StartRefusal;
  /** exited only: how it ended when not by its own exit (absent: its own exit). */
  endedBy?: RankEndCause;
  /** exited only: what was measured (absent: nothing). */
  usage?: RankUsage;
}

/** Bounds on StartTask's limits, as the agent takes them (a later deadline or a bigger limit is refused). */
export const START_TASK_BOUNDS = {
  /** 2100-01-01T00:00:00Z: a deadline past it is a unit mistake (seconds for ms, or µs). */
  deadlineUnixMsMax: 4_102_444_800_000,
  memoryBytesMax: RESOURCE_LIMITS.memoryGiBPerRankMax * 1024 ** 3,
  maxProcessesMax: RESOURCE_LIMITS.maxProcessesMax,
  /** GPU indexes on one node. */
  gpuIndexMax: 1023,
} as const;

/** What StartTask says of a rank's GPUs, deadline and limits, validated (names the field under `field`). */
export interface StartTaskLimits {
  gpus: number[];
  /** Absent: no deadline. */
  deadlineMs?: number;
  /** Absent: the agent's defaults. */
  resources?: TaskResourcesView;
}

export function startTaskLimitsFromPb(st: Pick<PbStartTaskOut, 'gpus' | 'deadlineUnixMs' | 'resources'>, field: string): StartTaskLimits {
  const B = START_TASK_BOUNDS;
  const seen = new Set<number>();
  st.gpus.forEach((g, i) => {
    if (!Number.isInteger(g) || g < 0 || g > B.gpuIndexMax) throw new InvalidArgumentError(`${field}.gpus[${i}]`, `must be a GPU index from 0 to ${B.gpuIndexMax}; got ${g}`);
    if (seen.has(g)) throw new InvalidArgumentError(`${field}.gpus[${i}]`, `GPU ${g} is listed twice`);
    seen.add(g);
  });
  const out: StartTaskLimits = { gpus: [...st.gpus] };
  const deadline = Number(st.deadlineUnixMs);
  if (!Number.isSafeInteger(deadline) || deadline < 0 || deadline > B.deadlineUnixMsMax) {
    throw new InvalidArgumentError(`${field}.deadlineUnixMs`, `must be unix milliseconds before ${new Date(B.deadlineUnixMsMax).toISOString()}, or 0 for none; got ${st.deadlineUnixMs}`);
  }
  if (deadline > 0) out.deadlineMs = deadline;
  const r = st.resources;
  if (r) {
    const memoryBytes = Number(r.memoryBytes);
    if (!Number.isSafeInteger(memoryBytes) || memoryBytes < 0 || memoryBytes > B.memoryBytesMax) {
      throw new InvalidArgumentError(`${field}.resources.memoryBytes`, `must be bytes from 0 (the agent's default) to ${B.memoryBytesMax}; got ${r.memoryBytes}`);
    }
    if (!Number.isInteger(r.maxProcesses) || r.maxProcesses < 0 || r.maxProcesses > B.maxProcessesMax) {
      throw new InvalidArgumentError(`${field}.resources.maxProcesses`, `must be from 0 (the agent's default) to ${B.maxProcessesMax}; got ${r.maxProcesses}`);
    }
    if (r.cpuBinding !== '' && r.cpuBinding !== 'numa' && r.cpuBinding !== 'none') {
      throw new InvalidArgumentError(`${field}.resources.cpuBinding`, `must be "numa" or "none"; got ${JSON.stringify(r.cpuBinding)}`);
    }
    out.resources = { memoryBytes, maxProcesses: r.maxProcesses, cpuBinding: r.cpuBinding === 'none' ? 'none' : 'numa' };
  }
  return out;
}

/** TaskStatus.ended_by: a known cause, or undefined for none; a newer agent's unknown word is dropped (its own exit). */
function endedByFromPb(word: string): RankEndCause | undefined {
  return RANK_END_CAUSES.has(word as RankEndCause) ? (word as RankEndCause) : undefined;
}

/**
 * TaskStatus.refusal: a known code, or undefined for none. A code this scheduler does not know (a
 * newer agent's) is dropped: the task is an ordinary failure to start, not a broken message.
 */
function refusalFromPb(code: string): StartRefusal | undefined {
  return START_REFUSALS.has(code as StartRefusal) ? (code as StartRefusal) : undefined;
}

export function taskStatusFromPb(pb: PbTaskStatusOut | null | undefined, field: string): TaskStatusView {
  if (!pb) throw new InvalidArgumentError(field, 'is required');
  if (!pb.jobId) throw new InvalidArgumentError(`${field}.jobId`, 'is required');
  const state = TASK_STATE_FROM_PB[pb.state];
  if (!state) throw new InvalidArgumentError(`${field}.state`, `unknown task state ${JSON.stringify(pb.state)}`);
  const refusal = state === 'failed-to-start' ? refusalFromPb(pb.refusal) : undefined;
  const endedBy = state === 'exited' ? endedByFromPb(pb.endedBy) : undefined;
  const usage = state === 'exited' ? usageFromPb(pb.usage) : undefined;
  return {
    jobId: pb.jobId,
    rank: pb.rank,
    epoch: pb.epoch,
    state,
    // A rank killed by a signal has no exit code (the wire's 0 is only the field's default).
    exitCode: state === 'exited' && !pb.signal ? pb.exitCode : null,
    signal: pb.signal || null,
    startedMs: pb.startedUnixMs,
    finishedMs: pb.finishedUnixMs,
    message: pb.message,
    checkpointMs: Number(pb.checkpointUnixMs) || 0,
    ...(refusal ? { refusal } : {}),
    ...(endedBy ? { endedBy } : {}),
    ...(usage ? { usage } : {}),
  };
}

export function taskStatusToPb(s: TaskStatusView): PbTaskStatus {
  return {
    jobId: s.jobId,
    rank: s.rank,
    epoch: s.epoch,
    state: Object.entries(TASK_STATE_FROM_PB).find(([, v]) => v === s.state)![0] as PbTaskStatus['state'],
    exitCode: s.exitCode ?? 0,
    signal: s.signal ?? '',
    startedUnixMs: s.startedMs,
    finishedUnixMs: s.finishedMs,
    message: s.message,
    checkpointUnixMs: s.checkpointMs ?? 0,
    refusal: s.refusal ?? '',
    endedBy: s.endedBy ?? '',
    ...(s.usage ? { usage: usageToPb(s.usage) } : {}),
  };
}
