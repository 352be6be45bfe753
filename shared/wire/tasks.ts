/**
 * Commands to agents (StartTask, StopTask, the latency peers to probe) as plain values, and their
 * wire form. The scheduler builds the views from its records; only this file turns them into
 * generated protobuf types (main.ts wires the conversion into the agent streams' send). And the
 * agents' answers: a task's status, with the code of a refused start.
 */
import { START_REFUSALS, jobRunAs, rankEpoch, type JobRecord, type RankRecord, type StartRefusal } from '../domain/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { PbTaskStatus, PbTaskStatusOut, SchedulerMessage } from '../proto/index.js';
import { latencyPeersToPb, serviceSloView, type LatencyPeerView, type ServiceSloView } from './convert.js';

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
  };
}

export function agentCommandToPb(c: AgentCommandView): SchedulerMessage {
  if (c.startTask) return { startTask: c.startTask };
  if (c.stopTask) return { stopTask: c.stopTask };
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
  return {
    jobId: pb.jobId,
    rank: pb.rank,
    epoch: pb.epoch,
    state,
    exitCode: state === 'exited' ? pb.exitCode : null,
    signal: pb.signal || null,
    startedMs: pb.startedUnixMs,
    finishedMs: pb.finishedUnixMs,
    message: pb.message,
    checkpointMs: Number(pb.checkpointUnixMs) || 0,
    ...(refusal ? { refusal } : {}),
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
  };
}
