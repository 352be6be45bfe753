import { connect, headers, RetentionPolicy, StorageType, type NatsConnection, type ConnectionOptions } from 'nats';
import { EVENTS_STREAM, EVENTS_SUBJECT_ALL, eventSubject, type GantryEvent } from '../../shared/events/index.js';
import type { Logger } from '../../shared/log/index.js';
import type { EventBus } from './types.js';

export interface NatsEventBusOptions {
  /** Servers, credentials and TLS (shared/natsconn compiles them from config). */
  connection: ConnectionOptions;
  /** Stream limits for GANTRY_EVENTS. */
  streamMaxBytes: number;
  streamMaxAgeMs: number;
}

/**
 * Publishes events to JetStream (stream GANTRY_EVENTS over gantry.events.>), each with a
 * Nats-Msg-Id so the server drops duplicates. Connects in the background and keeps reconnecting;
 * events queue in memory, in order, while NATS is away.
 */
export class NatsEventBus implements EventBus {
  private nc: NatsConnection | undefined;
  private readonly queue: GantryEvent[] = [];
  private draining = false;
  private closed = false;
  private streamReady = false;
  private readonly waiters: Array<() => void> = [];
  private readonly listeners = new Set<(e: GantryEvent) => void>();

  constructor(
    private readonly opts: NatsEventBusOptions,
    private readonly log: Logger,
  ) {}

  /** Starts connecting; does not wait for NATS to be reachable. */
  start(): void {
    void this.connectLoop();
  }

  private async connectLoop(): Promise<void> {
    const copts: ConnectionOptions = { ...this.opts.connection, maxReconnectAttempts: -1, reconnectTimeWait: 500 };
    // First connection: our own retry loop, so close() can stop it; after that nats.js reconnects forever.
    let warned = false;
    while (!this.nc && !this.closed) {
      try {
        this.nc = await connect(copts);
      } catch (e) {
        if (!warned) this.log.warn({ err: (e as Error).message, servers: this.opts.connection.servers }, 'NATS not reachable yet; events queue until it is');
        warned = true;
        await new Promise<void>((r) => setTimeout(r, 500).unref());
      }
    }
    if (!this.nc) return;
    if (this.closed) {
      await this.nc.close();
      return;
    }
    this.log.info({ server: this.nc.getServer() }, 'connected to NATS');
    void (async () => {
      for await (const s of this.nc!.status()) {
        if (s.type === 'reconnect') {
          this.log.info({ server: s.data }, 'reconnected to NATS');
          void this.drain();
        } else if (s.type === 'disconnect') this.log.warn({ server: s.data }, 'disconnected from NATS');
      }
    })();
    await this.drain();
  }

  private async ensureStream(nc: NatsConnection): Promise<void> {
    if (this.streamReady) return;
    const jsm = await nc.jetstreamManager();
    const config = {
      name: EVENTS_STREAM,
      subjects: [EVENTS_SUBJECT_ALL],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      max_bytes: this.opts.streamMaxBytes,
      max_age: this.opts.streamMaxAgeMs * 1_000_000, // nanoseconds
      duplicate_window: 120 * 1_000_000_000,
    };
    try {
      await jsm.streams.info(EVENTS_STREAM);
      await jsm.streams.update(EVENTS_STREAM, config);
    } catch {
      await jsm.streams.add(config);
    }
    this.streamReady = true;
  }

  publish(event: GantryEvent): void {
    if (this.closed) return;
    this.queue.push(event);
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's fault is its own (see EventBus.subscribe).
      }
    }
    void this.drain();
  }

  subscribe(listener: (e: GantryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private async drain(): Promise<void> {
    if (this.draining || !this.nc || this.nc.isClosed()) return;
    this.draining = true;
    try {
      await this.ensureStream(this.nc);
      const js = this.nc.jetstream();
      while (this.queue.length > 0) {
        const e = this.queue[0]!;
        const h = headers();
        h.set('Nats-Msg-Id', e.id);
        await js.publish(eventSubject(e), JSON.stringify(e), { headers: h, msgID: e.id, timeout: 5000 });
        this.queue.shift();
      }
      for (const w of this.waiters.splice(0)) w();
    } catch (e) {
      if (!this.closed) {
        this.log.warn({ err: (e as Error).message, pending: this.queue.length }, 'event publish failed; will retry');
        setTimeout(() => void this.drain(), 1000).unref();
      }
    } finally {
      this.draining = false;
    }
  }

  pending(): number {
    return this.queue.length;
  }

  async flush(timeoutMs: number): Promise<boolean> {
    if (this.queue.length === 0) return true;
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
      void this.drain();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    for (const w of this.waiters.splice(0)) w();
    if (this.nc && !this.nc.isClosed()) await this.nc.close();
  }
}
