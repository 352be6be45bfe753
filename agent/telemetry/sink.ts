/**
 * Where the agent's telemetry goes (east-west latency windows, service SLO histograms). Telemetry is
 * fire-and-forget core NATS (not JetStream): a window that cannot be sent is dropped and counted,
 * never queued, so a NATS outage costs memory nothing. Twins: NatsTelemetrySink and MemoryTelemetrySink.
 */
import type { ConnectionOptions, NatsConnection } from 'nats';
import { connectUntil } from '../../shared/natsconn/index.js';
import type { Logger } from '../../shared/log/index.js';

export interface TelemetrySink {
  /** Publishes one message; false when it was dropped (not connected). */
  publish(subject: string, data: Uint8Array): boolean;
  readonly connected: boolean;
  /** Messages dropped because NATS was away. */
  readonly dropped: number;
  close(): Promise<void>;
}

/** Core-NATS publisher that connects in the background and keeps reconnecting. */
export class NatsTelemetrySink implements TelemetrySink {
  private nc: NatsConnection | undefined;
  private closed = false;
  private up = false;
  dropped = 0;

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    void this.connectLoop();
  }

  private async connectLoop(): Promise<void> {
    // While disconnected, publish() drops (see connected) rather than letting nats.js buffer stale windows.
    this.nc = await connectUntil(this.connection, { log: this.log, meanwhile: 'telemetry is dropped until it is', closed: () => this.closed, retryMs: 1000 });
    if (!this.nc) return;
    this.up = true;
    this.log.info({ server: this.nc.getServer() }, 'telemetry connected to NATS');
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') this.up = false;
      else if (s.type === 'reconnect') this.up = true;
    }
  }

  get connected(): boolean {
    return this.up && !!this.nc && !this.nc.isClosed();
  }

  publish(subject: string, data: Uint8Array): boolean {
    if (!this.connected) {
      this.dropped++;
      return false;
    }
    try {
      this.nc!.publish(subject, data);
      return true;
    } catch {
      this.dropped++;
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    // Nothing worth draining: telemetry is best-effort, and drain() would wait on a server that is away.
    if (this.nc && !this.nc.isClosed()) await this.nc.close().catch(() => undefined);
  }
}

/** In-memory twin: keeps what was published (tests, simulation). */
export class MemoryTelemetrySink implements TelemetrySink {
  readonly messages: Array<{ subject: string; data: Uint8Array }> = [];
  connected = true;
  dropped = 0;

  publish(subject: string, data: Uint8Array): boolean {
    if (!this.connected) {
      this.dropped++;
      return false;
    }
    this.messages.push({ subject, data });
    return true;
  }

  async close(): Promise<void> {
    this.connected = false;
  }
}
