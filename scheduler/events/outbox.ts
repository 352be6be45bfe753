/**
 * The store's outbox, drained in order into an EventSink. One drain at a time; batches of up to
 * BATCH events are published (pipelined: one connection keeps their order) and acknowledged up to
 * the last contiguous success. A failure waits (backoff up to 5 s, or until the sink reconnects) and
 * resends from the first unacknowledged event; JetStream drops the duplicates by Nats-Msg-Id.
 */
import type { GantryEvent } from '../../shared/events/index.js';
import type { Logger } from '../../shared/log/index.js';
import type { StateStore } from '../store/index.js';
import type { EventBus, EventSink } from './types.js';

const BATCH = 64;

export class EventOutbox implements EventBus {
  private readonly listeners = new Set<(e: GantryEvent) => void>();
  private draining: Promise<void> | undefined;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs = 250;
  private closed = false;
  private warned = false;
  /** Events published since start (metrics, tests). */
  delivered = 0;

  constructor(
    private readonly store: StateStore,
    private readonly sink: EventSink,
    private readonly log: Logger,
  ) {
    sink.onReady(() => this.kick());
  }

  /** Starts draining what a previous run left in the outbox. */
  start(): void {
    this.kick();
  }

  publish(event: GantryEvent): void {
    this.store.commit({ events: [event] }).then(
      () => this.committed([event]),
      (e: unknown) => this.log.error({ err: e, event: event.id }, 'storing an event in the outbox failed'),
    );
  }

  committed(events: readonly GantryEvent[]): void {
    for (const e of events) for (const l of this.listeners) l(e);
    if (events.length) this.kick();
  }

  subscribe(listener: (e: GantryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  pending(): number {
    return this.store.outboxSize();
  }

  private kick(): void {
    if (this.closed) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async drain(): Promise<void> {
    while (!this.closed) {
      const batch = this.store.outboxPeek(BATCH);
      if (batch.length === 0) return;
      if (!this.sink.ready) return; // onReady kicks again
      const results = await Promise.allSettled(batch.map((b) => this.sink.publish(b.event)));
      let ok = 0;
      while (ok < results.length && results[ok]!.status === 'fulfilled') ok++;
      if (ok > 0) {
        await this.store.outboxAck(batch[ok - 1]!.seq);
        this.delivered += ok;
      }
      if (ok < results.length) {
        const err = (results[ok] as PromiseRejectedResult).reason as Error;
        if (!this.warned) this.log.warn({ err: err?.message, outbox: this.store.outboxSize() }, 'event publish failed; the outbox keeps them and retries');
        this.warned = true;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, this.backoffMs);
        this.retryTimer.unref();
        this.backoffMs = Math.min(5000, this.backoffMs * 2);
        return;
      }
      if (this.warned) this.log.info({ outbox: this.store.outboxSize() }, 'event publishing recovered');
      this.warned = false;
      this.backoffMs = 250;
    }
  }

  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.store.outboxSize() > 0 && Date.now() < deadline) {
      this.kick();
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.store.outboxSize() === 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.draining;
    this.listeners.clear();
    await this.sink.close();
  }
}

/**
 * In-memory sink (NATS disabled, tests): keeps the most recent `maxEvents` published (default
 * 1,000), oldest dropped first. Unbounded, a scheduler without NATS kept every event it ever made:
 * over a fuzz run of 5,000 inputs that was most of its heap growth (issue 18).
 */
export class MemoryEventSink implements EventSink {
  readonly events: GantryEvent[] = [];
  ready = true;
  private readyCb: (() => void) | undefined;

  constructor(private readonly maxEvents = 1000) {}

  async publish(event: GantryEvent): Promise<void> {
    if (!this.ready) throw new Error('sink not ready');
    this.events.push(event);
    if (this.events.length > this.maxEvents) this.events.shift();
  }

  onReady(cb: () => void): void {
    this.readyCb = cb;
  }

  /** Tests: simulate the backend going away and coming back. */
  setReady(ready: boolean): void {
    this.ready = ready;
    if (ready) this.readyCb?.();
  }

  async close(): Promise<void> {
    this.ready = false;
  }
}
