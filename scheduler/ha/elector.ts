/**
 * The lease machine (lease.ts) wired to a LeaseStore and a monotonic clock: a timer ticks it, its
 * commands become store requests, their answers (or failures) come back as events, and `lead` /
 * `step-down` reach the listeners. One request is in flight at a time.
 *
 * `isLeader()` checks the renew deadline against the clock at the moment it is asked, not at the
 * last tick: a process that was paused (SIGSTOP) past its lease answers false from its first
 * instruction after waking, before any timer has run. Callers ask it before every act of a leader.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../shared/log/index.js';
import { initialLease, mayLead, step, type LeaseCommand, type LeaseEvent, type LeaseOptions, type LeaseState, type StepDownCause } from './lease.js';
import type { LeaseRecord, LeaseStore } from './lease-store.js';

export interface ElectorDeps {
  store: LeaseStore;
  options: LeaseOptions;
  /** What the lease key holds while this process leads (who and where, for `gantry status`). */
  holder: string;
  log: Logger;
  /** Monotonic milliseconds; default performance.now. */
  monoMs?: () => number;
}

export interface ElectorListener {
  lead(term: number): void;
  stepDown(term: number, cause: StepDownCause): void;
}

export class Elector {
  private state: LeaseState;
  private timer: NodeJS.Timeout | undefined;
  private readonly mono: () => number;
  private readonly listeners: ElectorListener[] = [];
  private stopped = false;

  constructor(private readonly deps: ElectorDeps) {
    this.mono = deps.monoMs ?? (() => performance.now());
    this.state = initialLease(this.mono());
  }

  onChange(l: ElectorListener): void {
    this.listeners.push(l);
  }

  /** Starts ticking (again, after stop(): a stopped elector starts as a standby). */
  start(): void {
    if (this.timer) return;
    this.stopped = false;
    const o = this.deps.options;
    const everyMs = Math.max(20, Math.floor(Math.min(o.retryMs, o.renewIntervalMs, o.marginMs || o.retryMs) / 4));
    this.timer = setInterval(() => this.feed({ type: 'tick', nowMs: this.mono() }), everyMs);
    this.feed({ type: 'tick', nowMs: this.mono() });
  }

  /** Stops ticking; `resign`: a leader steps down now (its lease then runs out on the servers). */
  stop(resign: boolean): void {
    if (resign) this.feed({ type: 'resign', nowMs: this.mono() });
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Whether this process may act as leader now. */
  isLeader(): boolean {
    return mayLead(this.state, this.mono());
  }

  /** The term this process leads in; undefined when it does not. */
  term(): number | undefined {
    return this.isLeader() && this.state.role === 'leader' ? this.state.term : undefined;
  }

  /** The key as the servers last had it, for display (may be stale). */
  holderRecord(): Promise<LeaseRecord | undefined> {
    return this.deps.store.peek();
  }

  private feed(event: LeaseEvent): void {
    const out = step(this.state, event, this.deps.options);
    this.state = out.state;
    for (const c of out.commands) this.run(c);
  }

  private run(c: LeaseCommand): void {
    const { store, holder, log } = this.deps;
    switch (c.kind) {
      case 'create': {
        const sentAtMs = this.mono();
        store.create(holder).then(
          (r) => this.answer(r.ok ? { type: 'created', revision: r.revision, sentAtMs, nowMs: this.mono() } : { type: 'create-failed', reason: 'held', nowMs: this.mono() }),
          (e: unknown) => {
            log.debug({ err: String(e) }, 'lease: create got no answer');
            this.answer({ type: 'create-failed', reason: 'error', nowMs: this.mono() });
          },
        );
        return;
      }
      case 'renew': {
        const sentAtMs = this.mono();
        store.update(holder, c.revision).then(
          (r) => this.answer(r.ok ? { type: 'renewed', revision: r.revision, sentAtMs, nowMs: this.mono() } : { type: 'renew-failed', reason: 'conflict', nowMs: this.mono() }),
          (e: unknown) => {
            log.warn({ err: String(e) }, 'lease: a renewal got no answer');
            this.answer({ type: 'renew-failed', reason: 'error', nowMs: this.mono() });
          },
        );
        return;
      }
      case 'lead':
        log.info({ term: c.term }, `leading in term ${c.term}`);
        for (const l of this.listeners) l.lead(c.term);
        return;
      case 'step-down':
        log.warn({ term: c.term, cause: c.cause }, `stepped down from term ${c.term}: ${c.cause}`);
        for (const l of this.listeners) l.stepDown(c.term, c.cause);
        return;
    }
  }

  private answer(event: LeaseEvent): void {
    // After stop() nothing more happens here; a lease taken meanwhile runs out on the servers.
    if (this.stopped) return;
    this.feed(event);
  }
}
