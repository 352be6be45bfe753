/**
 * The queues' decayed GPU usage (queue/policy.ts decayedUsage), kept incrementally: the live cycle
 * sums it over every job it remembers, which over a trace of 80,000 jobs is quadratic. A finished
 * run adds gpus × (e^(k·end) − e^(k·start)) / k to its queue's sum (times relative to a reference
 * moved forward now and then); at `now` the sum times e^(−k·now), plus the running jobs counted up
 * to now, is decayedUsage's value (which also drops runs ended over 20 half-lives ago: < 1e-6).
 * With one queue the order does not depend on usage at all, and nothing is computed.
 */
import type { JobRecord } from '../../shared/domain/index.js';

const EMPTY: ReadonlyMap<string, number> = new Map();

export class UsageTracker {
  private readonly k: number;
  private ref = 0;
  private readonly sums = new Map<string, number>();
  private readonly queues = new Set<string>();

  constructor(private readonly halfLifeMs: number) {
    this.k = Math.LN2 / halfLifeMs;
  }

  /** A job of this queue was submitted. */
  noteQueue(queue: string): void {
    this.queues.add(queue);
  }

  ended(queue: string, gpus: number, startMs: number, endMs: number): void {
    this.queues.add(queue);
    if (endMs - this.ref > 400 * this.halfLifeMs) {
      // Move the reference forward: every sum decays to the new one.
      const f = Math.exp(-this.k * (endMs - this.ref));
      for (const [q, v] of this.sums) this.sums.set(q, v * f);
      this.ref = endMs;
    }
    const k = this.k;
    const v = (gpus * (Math.exp(k * (endMs - this.ref)) - Math.exp(k * (Math.min(startMs, endMs) - this.ref)))) / k;
    this.sums.set(queue, (this.sums.get(queue) ?? 0) + v);
  }

  /** Decayed GPU-ms per queue at `nowMs`, the running jobs counted up to now. */
  at(nowMs: number, running: Iterable<JobRecord>): ReadonlyMap<string, number> {
    if (this.queues.size <= 1) return EMPTY;
    const k = this.k;
    const out = new Map<string, number>();
    const f = Math.exp(-k * (nowMs - this.ref));
    for (const [q, v] of this.sums) out.set(q, v * f);
    for (const j of running) {
      if (!j.startedMs) continue;
      let gpus = 0;
      for (const r of j.ranks) gpus += r.gpus.length;
      const v = (gpus * (1 - Math.exp(-k * (nowMs - Math.min(j.startedMs, nowMs))))) / k;
      out.set(j.spec.queue, (out.get(j.spec.queue) ?? 0) + v);
    }
    return out;
  }
}
