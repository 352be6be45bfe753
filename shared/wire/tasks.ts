/**
 * Commands to agents (StartTask, StopTask, the latency peers to probe) as plain values, and their
 * wire form. The scheduler builds the views from its records; only this file turns them into
 * generated protobuf types (main.ts wires the conversion into the agent streams' send).
 */
import { jobRunAs, rankEpoch, type JobRecord, type RankRecord } from '../domain/index.js';
import type { SchedulerMessage } from '../proto/index.js';
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
