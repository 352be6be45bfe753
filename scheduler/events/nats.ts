import { headers, RetentionPolicy, StorageType, type NatsConnection, type ConnectionOptions } from 'nats';
import { connectUntil } from '../../shared/natsconn/index.js';
import { EVENTS_STREAM, EVENTS_SUBJECT_ALL, eventSubject, type GantryEvent } from '../../shared/events/index.js';
import type { Logger } from '../../shared/log/index.js';
import type { EventSink } from './types.js';

export interface NatsEventSinkOptions {
  /** Servers, credentials and TLS (shared/natsconn compiles them from config). */
  connection: ConnectionOptions;
  /** Stream limits for GANTRY_EVENTS. */
  streamMaxBytes: number;
  streamMaxAgeMs: number;
}

/**
 * JetStream behind the outbox: creates or updates stream GANTRY_EVENTS (gantry.events.>, file
 * storage, size and age limits) and publishes each event with a Nats-Msg-Id, so the server drops a
 * resent duplicate. Connects in the background and keeps reconnecting; tells the outbox when ready.
 */
export class NatsEventSink implements EventSink {
  private nc: NatsConnection | undefined;
  private closed = false;
  private up = false;
  private streamReady = false;
  private readyCb: (() => void) | undefined;

  constructor(
    private readonly opts: NatsEventSinkOptions,
    private readonly log: Logger,
  ) {}

  /** Starts connecting; does not wait for NATS to be reachable. */
  start(): void {
    void this.connectLoop();
  }

  get ready(): boolean {
    return this.up && !!this.nc && !this.nc.isClosed();
  }

  onReady(cb: () => void): void {
    this.readyCb = cb;
  }

  private async connectLoop(): Promise<void> {
    this.nc = await connectUntil(this.opts.connection, { log: this.log, meanwhile: 'events wait in the outbox', closed: () => this.closed });
    if (!this.nc) return;
    this.log.info({ server: this.nc.getServer() }, 'connected to NATS');
    this.up = true;
    this.readyCb?.();
    for await (const s of this.nc.status()) {
      if (s.type === 'reconnect') {
        this.log.info({ server: s.data }, 'reconnected to NATS');
        this.up = true;
        this.readyCb?.();
      } else if (s.type === 'disconnect') {
        this.up = false;
        this.log.warn({ server: s.data }, 'disconnected from NATS');
      }
    }
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

  async publish(event: GantryEvent): Promise<void> {
    const nc = this.nc;
    if (!nc || nc.isClosed() || !this.up) throw new Error('not connected to NATS');
    await this.ensureStream(nc);
    const h = headers();
    h.set('Nats-Msg-Id', event.id);
    await nc.jetstream().publish(eventSubject(event), JSON.stringify(event), { headers: h, msgID: event.id, timeout: 5000 });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.up = false;
    if (this.nc && !this.nc.isClosed()) await this.nc.close();
  }
}
