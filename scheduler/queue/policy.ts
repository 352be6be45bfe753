/**
 * Pure queue policy: named queues with a priority, a GPU quota (nominal plus a borrowing limit) and
 * a fair-share weight; usage decayed over a half-life; the order jobs are offered to placement; who
 * may preempt whom. No I/O, no clock: `nowMs` comes in as an argument.
 */
import type { JobRecord } from '../../shared/domain/index.js';

export interface QueueConfig {
  /** Queues with a higher priority are served first and may preempt lower ones. */
  priority: number;
  /** GPUs the queue is guaranteed (reclaimed by preemption from queues that borrowed them); null: no quota. */
  nominalGpus: number | null;
  /** GPUs above nominal it may borrow while others leave them idle; null: no limit. */
  borrowingLimitGpus: number | null;
  /** Fair-share weight among queues of the same priority: twice the weight, twice the share. */
  weight: number;
}

export const DEFAULT_QUEUE: QueueConfig = { priority: 0, nominalGpus: null, borrowingLimitGpus: null, weight: 1 };

/** GPUs a job holds (its ranks' GPUs). */
export function jobGpus(job: Pick<JobRecord, 'ranks'>): number {
  let n = 0;
  for (const r of job.ranks) n += r.gpus.length;
  return n;
}

/** GPUs a job asks for at least: its minimum units (every rank of a gang, min replicas, one shard). */
export function jobMinGpus(job: Pick<JobRecord, 'spec'>): number {
  const s = job.spec;
  const units = s.kind === 'Inference' ? Math.max(1, s.replicas.min) : 1;
  return units * s.ranks * s.gpusPerRank;
}

/**
 * Decayed GPU usage per queue in GPU-milliseconds: each job's GPUs integrated over its run, weighted
 * by 2^(-age/halfLife). A job still running counts up to now. Jobs that ended more than 20
 * half-lives ago weigh under one millionth and are skipped.
 */
export function decayedUsage(jobs: Iterable<JobRecord>, nowMs: number, halfLifeMs: number): Map<string, number> {
  const out = new Map<string, number>();
  const k = Math.LN2 / halfLifeMs;
  for (const j of jobs) {
    if (!j.startedMs || j.ranks.length === 0) continue;
    const end = j.finishedMs || nowMs;
    if (nowMs - end > 20 * halfLifeMs) continue;
    const start = Math.min(j.startedMs, end);
    // ∫ gpus · e^{-k(now-t)} dt from start to end
    const v = (jobGpus(j) * (Math.exp(-k * (nowMs - end)) - Math.exp(-k * (nowMs - start)))) / k;
    out.set(j.spec.queue, (out.get(j.spec.queue) ?? 0) + v);
  }
  return out;
}

/** Why a queue cannot take `need` more GPUs now, or null when it can. */
export function quotaBlock(name: string, q: QueueConfig, allocated: number, need: number): string | null {
  if (q.nominalGpus === null) return null;
  const limit = q.borrowingLimitGpus === null ? Infinity : q.nominalGpus + q.borrowingLimitGpus;
  if (allocated + need <= limit) return null;
  const borrow = q.borrowingLimitGpus === null ? '' : ` + ${q.borrowingLimitGpus} borrowing`;
  return `queue ${name} is at its quota: ${allocated} GPUs in use of ${q.nominalGpus} nominal${borrow}, this job needs ${need}`;
}

/** Higher queue priority, then higher job priority, then earlier submission, then id: a total order. */
function jobOrder(a: JobRecord, b: JobRecord): number {
  return b.spec.priority - a.spec.priority || a.submittedMs - b.submittedMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The order pending jobs are offered to placement in one cycle. Queues of a higher priority come
 * first; among queues of equal priority the next job comes from the queue with the smallest
 * projected share, (decayed usage + allocated GPUs × halfLife) / weight, which grows as jobs of
 * that queue are admitted, so queues interleave by weight within a cycle too.
 */
export class AdmissionOrder {
  private readonly heads = new Map<string, JobRecord[]>();
  private readonly allocated: Map<string, number>;

  constructor(
    pending: readonly JobRecord[],
    private readonly queues: (name: string) => QueueConfig,
    private readonly usage: ReadonlyMap<string, number>,
    allocated: ReadonlyMap<string, number>,
    private readonly halfLifeMs: number,
  ) {
    for (const j of pending) {
      const list = this.heads.get(j.spec.queue) ?? [];
      list.push(j);
      this.heads.set(j.spec.queue, list);
    }
    for (const list of this.heads.values()) list.sort(jobOrder).reverse(); // pop() takes the first
    this.allocated = new Map(allocated);
  }

  private share(name: string): number {
    const q = this.queues(name);
    return ((this.usage.get(name) ?? 0) + (this.allocated.get(name) ?? 0) * this.halfLifeMs) / q.weight;
  }

  /** The next job to try, or undefined when none is left. */
  next(): JobRecord | undefined {
    const head = (name: string): JobRecord => {
      const list = this.heads.get(name)!;
      return list[list.length - 1]!;
    };
    // Negative when queue a's head goes before queue b's.
    const cmp = (a: string, b: string): number =>
      this.queues(b).priority - this.queues(a).priority || this.share(a) - this.share(b) || jobOrder(head(a), head(b));
    let best: string | undefined;
    for (const [name, list] of this.heads) {
      if (list.length > 0 && (best === undefined || cmp(name, best) < 0)) best = name;
    }
    return best === undefined ? undefined : this.heads.get(best)!.pop();
  }

  /** The job was admitted with `gpus` GPUs: its queue's projected share grows. */
  admitted(job: JobRecord, gpus: number): void {
    this.allocated.set(job.spec.queue, (this.allocated.get(job.spec.queue) ?? 0) + gpus);
  }

  allocatedTo(queue: string): number {
    return this.allocated.get(queue) ?? 0;
  }
}

/**
 * Whether `preemptor` may evict `victim`'s whole gang: a higher (queue priority, job priority), or
 * quota reclaim: the preemptor's queue stays within its nominal quota with this job while the
 * victim's queue is borrowing (above its own nominal).
 */
export function mayPreempt(
  preemptor: JobRecord,
  victim: JobRecord,
  queues: (name: string) => QueueConfig,
  allocated: (queue: string) => number,
): boolean {
  const qp = queues(preemptor.spec.queue);
  const qv = queues(victim.spec.queue);
  if (qp.priority !== qv.priority) return qp.priority > qv.priority;
  if (preemptor.spec.priority > victim.spec.priority) return true;
  if (preemptor.spec.queue === victim.spec.queue || qp.nominalGpus === null || qv.nominalGpus === null) return false;
  const withinNominal = allocated(preemptor.spec.queue) + jobMinGpus(preemptor) <= qp.nominalGpus;
  const borrowing = allocated(victim.spec.queue) > qv.nominalGpus;
  return withinNominal && borrowing;
}

/** Work a preemption throws away: GPUs × time since the victim started or last checkpointed. */
export function lostWorkGpuMs(victim: JobRecord, nowMs: number): number {
  const since = Math.max(victim.startedMs || victim.updatedMs, victim.lastCheckpointMs ?? 0);
  return jobGpus(victim) * Math.max(0, nowMs - since);
}
