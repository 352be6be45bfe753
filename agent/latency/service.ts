/**
 * East-west latency probing on the agent: a UDP echo responder (the only inbound port besides
 * /metrics) and a prober that sends small probes to the peers the scheduler picks, at a fixed rate,
 * and publishes one window per `windowMs` on gantry.telemetry.latency.<node> (shared/telemetry's binary
 * encoding).
 */
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../../shared/clock/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import { latencyTelemetrySubject } from '../../shared/events/index.js';
import type { Logger } from '../../shared/log/index.js';
import { encodeLatencyWindow } from '../../shared/telemetry/index.js';
import type { LatencyPeerView } from '../../shared/wire/index.js';
import type { TelemetrySink } from '../telemetry/index.js';
import { decodeProbe, encodeProbe, WindowStats } from './packet.js';

export interface LatencyOptions {
  nodeName: string;
  /** Where the echo responder listens. */
  listen: { host: string; port: number };
  /** Netdev whose IPv4 address the probes use (IPoIB, the RoCE netdev); '' = `fallbackAddress`. */
  interface: string;
  fallbackAddress: string;
  probeRateHz: number;
  windowMs: number;
  timeoutMs: number;
  /** Fault injection / tests: delay every echo by this much. */
  echoDelayMs: number;
  /** Fault injection / tests: a file holding a delay in ms, read every window (overrides echoDelayMs while it parses). */
  echoDelayFile: string;
}

/** The IPv4 address of a netdev (`os.networkInterfaces`), or a ConfigError naming latency.interface. */
export function interfaceAddress(name: string, interfaces = os.networkInterfaces()): string {
  const v4 = (interfaces[name] ?? []).find((a) => a.family === 'IPv4');
  if (!v4) throw new ConfigError('latency.interface', `no IPv4 address on interface ${JSON.stringify(name)} (have: ${Object.keys(interfaces).join(', ')})`);
  return v4.address;
}

export class LatencyService {
  private echo: dgram.Socket | undefined;
  private probe: dgram.Socket | undefined;
  private peers: LatencyPeerView[] = [];
  private readonly outstanding = new Map<number, { peer: string; sentUs: number }>();
  private readonly stats = new WindowStats();
  private nextId = 1;
  private probeTimer: NodeJS.Timeout | undefined;
  private windowTimer: NodeJS.Timeout | undefined;
  private windowStartMs = 0;
  private delayMs: number;
  /** Probes sent, replies matched and probes lost since start (metrics). */
  readonly totals = { sent: 0, replies: 0, lost: 0, windows: 0 };
  endpoint: { address: string; port: number } | undefined;

  constructor(
    private readonly opts: LatencyOptions,
    private readonly sink: TelemetrySink,
    private readonly clock: Clock,
    private readonly log: Logger,
    registry?: Registry,
    private readonly nowUs: () => number = () => performance.now() * 1000,
  ) {
    this.delayMs = opts.echoDelayMs;
    if (registry) {
      const c = (name: string, help: string): Counter => new Counter({ name, help, registers: [registry] });
      this.counters = {
        sent: c('gantry_agent_latency_probes_sent_total', 'Latency probes sent to peers.'),
        lost: c('gantry_agent_latency_probes_lost_total', 'Latency probes with no reply within latency.timeoutMs.'),
        windows: c('gantry_agent_latency_windows_published_total', 'Latency windows handed to the telemetry sink.'),
      };
    }
  }

  private readonly counters: { sent: Counter; lost: Counter; windows: Counter } | undefined;

  /** Binds the responder and the prober; returns the endpoint to announce to the scheduler. */
  async start(): Promise<{ address: string; port: number }> {
    const address = this.opts.interface ? interfaceAddress(this.opts.interface) : this.opts.fallbackAddress;
    const echo = dgram.createSocket('udp4');
    this.echo = echo;
    echo.on('message', (msg, rinfo) => {
      if (decodeProbe(msg) < 0) return;
      const reply = (): void => echo.send(msg, rinfo.port, rinfo.address);
      if (this.delayMs > 0) setTimeout(reply, this.delayMs).unref();
      else reply();
    });
    echo.on('error', (e) => this.log.warn({ err: e.message }, 'latency echo responder error'));
    await new Promise<void>((resolve, reject) => {
      echo.once('error', reject);
      echo.bind(this.opts.listen.port, this.opts.listen.host, () => {
        echo.off('error', reject);
        resolve();
      });
    });
    const probe = dgram.createSocket('udp4');
    this.probe = probe;
    probe.on('message', (msg) => this.onReply(msg));
    probe.on('error', (e) => this.log.warn({ err: e.message }, 'latency prober error'));
    await new Promise<void>((resolve) => probe.bind(0, this.opts.interface ? address : undefined, () => resolve()));
    this.windowStartMs = this.clock.nowMs();
    this.probeTimer = setInterval(() => this.tick(), Math.max(1, Math.round(1000 / this.opts.probeRateHz)));
    this.windowTimer = setInterval(() => void this.flushWindow(), this.opts.windowMs);
    await this.readDelayFile();
    this.endpoint = { address, port: echo.address().port };
    this.log.info({ ...this.endpoint }, 'latency echo responder listening');
    return this.endpoint;
  }

  /** The scheduler's latest choice of peers (replaces the last). */
  setPeers(peers: LatencyPeerView[]): void {
    this.peers = peers.filter((p) => p.node !== this.opts.nodeName);
    this.log.info({ peers: this.peers.map((p) => p.node) }, 'latency peers');
  }

  get peerNames(): string[] {
    return this.peers.map((p) => p.node);
  }

  private tick(): void {
    const now = this.nowUs();
    // Probes without a reply within the timeout are lost.
    for (const [id, o] of this.outstanding) {
      if (now - o.sentUs < this.opts.timeoutMs * 1000) break; // insertion order is send order
      this.outstanding.delete(id);
      this.stats.lost(o.peer);
      this.totals.lost++;
      this.counters?.lost.inc();
    }
    const sock = this.probe;
    if (!sock) return;
    for (const p of this.peers) {
      const id = this.nextId;
      this.nextId = (this.nextId + 1) >>> 0 || 1;
      this.outstanding.set(id, { peer: p.node, sentUs: this.nowUs() });
      this.stats.sent(p.node);
      this.totals.sent++;
      this.counters?.sent.inc();
      sock.send(encodeProbe(id), p.port, p.address);
    }
  }

  private onReply(msg: Buffer): void {
    const id = decodeProbe(msg);
    const o = id >= 0 ? this.outstanding.get(id) : undefined;
    if (!o) return;
    this.outstanding.delete(id);
    this.stats.rtt(o.peer, this.nowUs() - o.sentUs);
    this.totals.replies++;
  }

  private async readDelayFile(): Promise<void> {
    if (!this.opts.echoDelayFile) return;
    try {
      const v = Number((await readFile(this.opts.echoDelayFile, 'utf8')).trim());
      const next = Number.isFinite(v) && v >= 0 ? v : this.opts.echoDelayMs;
      if (next !== this.delayMs) this.log.warn({ echoDelayMs: next }, 'latency echo delay (fault injection) changed');
      this.delayMs = next;
    } catch {
      this.delayMs = this.opts.echoDelayMs;
    }
  }

  private async flushWindow(): Promise<void> {
    const now = this.clock.nowMs();
    const w = this.stats.window(this.opts.nodeName, this.windowStartMs, now - this.windowStartMs);
    this.windowStartMs = now;
    if (w.peers.length > 0) {
      let data: Uint8Array | undefined;
      try {
        data = encodeLatencyWindow(w); // binary (shared/telemetry); WindowStats only makes what it can carry
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'latency window not encodable; dropped');
      }
      if (data) {
        this.sink.publish(latencyTelemetrySubject(this.opts.nodeName), data);
        this.totals.windows++;
        this.counters?.windows.inc();
      }
    }
    await this.readDelayFile();
  }

  async stop(): Promise<void> {
    if (this.probeTimer) clearInterval(this.probeTimer);
    if (this.windowTimer) clearInterval(this.windowTimer);
    for (const s of [this.echo, this.probe]) if (s) await new Promise<void>((r) => s.close(() => r()));
    this.echo = undefined;
    this.probe = undefined;
  }
}
