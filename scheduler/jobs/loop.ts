/**
 * When changes and cycles run: every change to jobs, one at a time (so no update is computed from
 * a stale record), and scheduling cycles asked for by events (at most one waits), by submissions
 * (coalesced), and by a timer.
 */
import type { Clock } from '../../shared/clock/index.js';
import type { Logger } from '../../shared/log/index.js';

export class CycleLoop {
  private chain: Promise<unknown> = Promise.resolve();
  private cycleQueued = false;
  /** A cycle asked for by submissions, waiting to start (see soon). */
  private pendingSoon: { timer: NodeJS.Timeout; done: Promise<void> } | undefined;
  /** The last cycle's planning time (before its commit) and when it ended, by the clock. */
  private lastCycle = { spentMs: 0, endedMs: 0 };
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Runs one cycle; calls planned() once its planning is done (before its commit). */
    private readonly cycle: (planned: () => void) => Promise<void>,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => this.trigger('timer'), intervalMs);
    this.trigger('start');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.idle();
  }

  /** Runs `fn` after every change queued before it. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Asks for a cycle: at most one waits in the queue; one asked for while a cycle runs comes after it. */
  trigger(_why: string): void {
    if (this.stopped || this.cycleQueued) return;
    this.cycleQueued = true;
    void this.serial(async () => {
      this.cycleQueued = false;
      await this.timed();
    }).catch((e: unknown) => this.log.error({ err: e }, 'scheduling cycle failed'));
  }

  private async timed(): Promise<void> {
    const startMs = this.clock.nowMs();
    try {
      // Planning time (the commit that follows waits on the disk, not the CPU): paces soon().
      await this.cycle(() => (this.lastCycle = { ...this.lastCycle, spentMs: Math.max(0, this.clock.nowMs() - startMs) }));
    } finally {
      this.lastCycle = { spentMs: this.lastCycle.spentMs, endedMs: this.clock.nowMs() };
    }
  }

  /**
   * A cycle for new submissions, coalesced: it starts no sooner after the last cycle ended than
   * that cycle took to plan, so cycles take at most about half the time however fast jobs come,
   * and each tries every job submitted since. A cycle per submission made a burst quadratic (each
   * one orders the whole queue). A small queue plans in well under a millisecond: no wait then.
   */
  soon(why: string): void {
    if (this.stopped || this.cycleQueued || this.pendingSoon) return;
    const waitMs = Math.max(0, this.lastCycle.endedMs + this.lastCycle.spentMs - this.clock.nowMs());
    let fire!: () => void;
    const done = new Promise<void>((r) => (fire = r));
    const timer = setTimeout(() => {
      this.pendingSoon = undefined;
      this.trigger(why);
      fire();
    }, waitMs);
    this.pendingSoon = { timer, done };
  }

  /** Resolves when every queued change and cycle is done. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.pendingSoon) {
        await this.pendingSoon.done;
        continue;
      }
      const seen = this.chain;
      await seen;
      if (seen === this.chain && !this.pendingSoon) break;
    }
  }
}
