/**
 * Commands to agents: the lifecycle's start, stop and fence commands carried out (StartTask with
 * each rank's environment, StopTask), and the stopped ranks whose GPUs (and service ports) stay
 * taken until their agent reports them gone, or their grace period plus stopSlackMs passes, so
 * no GPU is handed out twice.
 */
import type { Clock } from '../../shared/clock/index.js';
import type { JobRecord, NodeRecord, RankRecord } from '../../shared/domain/index.js';
import type { Logger } from '../../shared/log/index.js';
import { startTaskView, type TaskCommandView } from '../../shared/wire/index.js';
import type { ClusterModel } from '../cluster/index.js';
import { FENCE_REASON, type FenceCommand, type JobCommand } from './lifecycle.js';
import { rankEnv, unitIndex, type UnitIndex } from './rank-env.js';
import { serviceBlock, type PortBlock } from './service-ports.js';

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

export interface AgentsDeps {
  cluster: ClusterModel;
  clock: Clock;
  log: Logger;
  /** Sends a command to a node's agent; false when the node has no live stream. */
  send(node: string, cmd: TaskCommandView): boolean;
}

export class Agents {
  /** Stopped ranks not yet reported gone, by job/rank/epoch. */
  private readonly releasing = new Map<string, Releasing>();

  constructor(
    private readonly deps: AgentsDeps,
    private readonly stopSlackMs: number,
  ) {}

  /** Stops a task that is not the current placement. */
  fence(c: FenceCommand): void {
    this.deps.log.warn({ node: c.node, job: c.jobId, rank: c.rank, epoch: c.epoch }, 'fencing a task the scheduler does not run');
    this.deps.send(c.node, { stopTask: { jobId: c.jobId, rank: c.rank, epoch: c.epoch, graceSeconds: c.graceSeconds, reason: FENCE_REASON } });
  }

  /** Carries out a start, stop or fence command of `job` (the record it came with). `nodes`: the cycle's node records, if at hand. */
  run(job: JobRecord, c: JobCommand, nodes?: ReadonlyMap<string, NodeRecord>): void {
    if (c.kind === 'start') {
      const units = unitIndex(job);
      for (const r of c.ranks) this.start(job, r, nodes, units);
    } else if (c.kind === 'stop') {
      // SIGTERM, then SIGKILL after the grace period.
      const untilMs = this.deps.clock.nowMs() + c.graceSeconds * 1000 + this.stopSlackMs;
      const ports = serviceBlock(job.spec);
      for (const t of c.tasks) {
        if (this.deps.cluster.get(t.node)?.connectivity === 'ready') {
          this.releasing.set(`${job.id}/${t.rank}/${t.epoch}`, { node: t.node, gpus: t.gpus, untilMs, forJob: c.forJob, jobId: job.id, ports });
        }
        this.deps.send(t.node, { stopTask: { jobId: job.id, rank: t.rank, epoch: t.epoch, graceSeconds: c.graceSeconds, reason: c.reason } });
      }
    } else if (c.kind === 'fence') {
      this.fence(c);
    }
  }

  /** Sends one rank's StartTask; a node without a stream gets it when it reconnects (the agent re-announces, the start is resent). */
  start(job: JobRecord, r: RankRecord, nodes?: ReadonlyMap<string, NodeRecord>, units?: UnitIndex): void {
    const env = rankEnv(job, r, (n) => nodes?.get(n) ?? this.deps.cluster.get(n), units);
    if (!this.deps.send(r.node, { startTask: startTaskView(job, r, env) })) {
      this.deps.log.warn({ job: job.id, rank: r.rank, node: r.node }, 'node has no stream; the start goes out when it reconnects');
    }
  }

  /** A stopped rank reported gone: true when its GPUs were held (they are free now). */
  gone(jobId: string, rank: number, epoch: number): boolean {
    return this.releasing.delete(`${jobId}/${rank}/${epoch}`);
  }

  /** Stopped ranks whose exit never came (agent gone...) free their GPUs after their grace period: how many did. */
  expire(nowMs: number): number {
    let n = 0;
    for (const [k, r] of this.releasing) {
      if (r.untilMs > nowMs) continue;
      this.releasing.delete(k);
      n++;
    }
    return n;
  }

  /** The stopped ranks still holding GPUs. */
  stopping(): IterableIterator<Releasing> {
    return this.releasing.values();
  }

  /** Jobs for which preempted ranks are still stopping. */
  awaitingVictims(): Set<string> {
    return new Set([...this.releasing.values()].map((r) => r.forJob).filter(Boolean));
  }

  /** Service port blocks of stopping ranks, by node. */
  stoppingPorts(): Array<{ jobId: string; node: string; block: PortBlock }> {
    return [...this.releasing.values()].flatMap((r) => (r.ports ? [{ jobId: r.jobId, node: r.node, block: r.ports }] : []));
  }
}
