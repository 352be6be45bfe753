/**
 * The scheduler's east-west latency loop (daemon wiring around the pure aggregator and peer choice):
 * subscribes to gantry.telemetry.latency.* (core NATS), feeds the aggregator, evaluates it on a
 * timer, publishes domain events and metrics when a domain turns degraded or recovers, and keeps
 * every agent's peer list current over its gRPC stream.
 *
 * A window counts for the node its subject names (NATS permissions confine each agent to
 * `gantry.telemetry.*.<its node>`); one whose payload names another node is dropped and counted
 * (`foreign`), so no agent can mark someone else's domain degraded.
 */
import type { ConnectionOptions, NatsConnection, Subscription } from 'nats';
import { connectUntil } from '../../shared/natsconn/index.js';
import { randomUUID } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../../shared/clock/index.js';
import { EVENT_SCHEMA_VERSION, LATENCY_TELEMETRY_SUBJECT_ALL, telemetrySubjectNode } from '../../shared/events/index.js';
import type { Logger } from '../../shared/log/index.js';
import { decodeLatencyWindow, NameTable, type LatencyWindow } from '../../shared/telemetry/index.js';
import type { AgentCommandView, LatencyEndpointView, LatencyPeerView } from '../../shared/wire/index.js';
import type { EventBus } from '../events/index.js';
import type { TopologyTree } from '../topology/index.js';
import { LatencyAggregator, type AggregatorOptions, type DomainRef } from './aggregator.js';
import { choosePeers, layoutFromTree } from './layout.js';

export interface LatencyTelemetryOptions extends AggregatorOptions {
  /** NATS to subscribe on (absent: windows only through ingest(), e.g. tests). */
  connection?: ConnectionOptions;
  evaluateIntervalMs: number;
  peersPerLevel: number[];
}

export interface LatencyTelemetryDeps {
  clock: Clock;
  log: Logger;
  events: EventBus;
  registry: Registry;
  /** The current topology tree (the job manager's). */
  tree(): TopologyTree;
  /** Sends to a node's agent; false without a live stream. */
  send(node: string, cmd: AgentCommandView): boolean;
}

export class LatencyTelemetry {
  readonly aggregator: LatencyAggregator;
  private nc: NatsConnection | undefined;
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private tree: TopologyTree | undefined;
  private readonly endpoints = new Map<string, LatencyEndpointView>();
  private readonly sentPeers = new Map<string, string>();
  /** Windows that did not decode, or came on a subject that names no node (the aggregator counts the rest). */
  private malformed = 0;
  /** Windows whose payload names another node than their subject. */
  private foreign = 0;
  /** Node names of binary windows, interned (one string per node, not one per window). */
  private readonly names = new NameTable();
  private readonly readyWaiters: Array<() => void> = [];
  private peersDirty = true;

  constructor(
    private readonly opts: LatencyTelemetryOptions,
    private readonly deps: LatencyTelemetryDeps,
  ) {
    this.aggregator = new LatencyAggregator(opts);
    const agg = this.aggregator;
    // Counted in plain fields on the hot path (prom-client's labelled inc() costs more than a window's
    // decode) and handed to the counter when scraped.
    const self = this;
    new Counter({
      name: 'gantry_scheduler_latency_windows_total',
      help: 'Latency windows received from agents, by result (accepted; refused: malformed or from nodes outside the tree; foreign: the window names another node than its subject).',
      labelNames: ['result'],
      registers: [deps.registry],
      collect() {
        this.reset();
        this.inc({ result: 'accepted' }, agg.accepted);
        this.inc({ result: 'refused' }, agg.refused + self.malformed);
        this.inc({ result: 'foreign' }, self.foreign);
      },
    });
    // The domain gauges (gantry_scheduler_domain_*) are in scheduler/metrics.ts, read from this.aggregator.domains().
  }

  start(): void {
    if (this.opts.connection) void this.connectLoop(this.opts.connection);
    this.timer = setInterval(() => this.tick(), this.opts.evaluateIntervalMs);
  }

  private async connectLoop(connection: ConnectionOptions): Promise<void> {
    this.nc = await connectUntil(connection, { log: this.deps.log, meanwhile: 'no latency telemetry until it is', closed: () => this.closed });
    if (!this.nc) return;
    this.sub = this.nc.subscribe(LATENCY_TELEMETRY_SUBJECT_ALL, {
      callback: (err, msg) => {
        if (!err) this.ingest(msg.subject, msg.data);
      },
    });
    this.deps.log.info('subscribed to latency telemetry');
    for (const r of this.readyWaiters.splice(0)) r();
  }

  /** Resolves once subscribed to NATS (benchmarks, tests). */
  ready(): Promise<void> {
    return this.sub ? Promise.resolve() : new Promise<void>((r) => this.readyWaiters.push(r));
  }

  /**
   * Takes one encoded window, binary or legacy JSON, received on `subject` (the NATS callback; tests
   * call it directly). The subject says whose window it is: a payload naming another node is dropped.
   */
  ingest(subject: string, data: Uint8Array): void {
    const node = telemetrySubjectNode(subject, 'latency');
    let w: LatencyWindow;
    try {
      if (node === undefined) throw new Error('no node in the subject');
      w = decodeLatencyWindow(data, this.names);
    } catch {
      this.malformed++;
      return;
    }
    if (w.node !== node) {
      if (this.foreign++ === 0 || this.foreign % 1000 === 0) this.deps.log.warn({ subject, node: w.node, foreign: this.foreign }, 'latency window names another node than its subject: dropped');
      return;
    }
    try {
      this.aggregator.ingest(w, this.deps.clock.nowMs());
    } catch {
      this.aggregator.refused++; // a bucket list sparseTotal refused
    }
  }

  /** Windows taken, refused and foreign since start (the metric's figures; benchmarks). */
  get counts(): { accepted: number; refused: number; foreign: number } {
    return { accepted: this.aggregator.accepted, refused: this.aggregator.refused + this.malformed, foreign: this.foreign };
  }

  /** Messages the subscription has been handed but not yet processed (backlog). */
  get pending(): number {
    return this.sub?.getPending() ?? 0;
  }

  onEndpoint(node: string, endpoint: LatencyEndpointView | null): void {
    if (endpoint) this.endpoints.set(node, endpoint);
    else this.endpoints.delete(node);
    this.sentPeers.delete(node); // a (re)connected agent gets its peers again
    this.peersDirty = true;
    this.refreshPeers();
  }

  /** Re-reads the tree; sends changed peer lists. */
  private refreshPeers(): void {
    let tree: TopologyTree;
    try {
      tree = this.deps.tree();
    } catch (e) {
      this.deps.log.warn({ err: (e as Error).message }, 'no topology for latency peers');
      return;
    }
    if (tree !== this.tree) {
      this.tree = tree;
      this.aggregator.setLayout(layoutFromTree(tree));
      this.peersDirty = true;
    }
    // Peer lists change only with the tree or the endpoints (or when a send found no stream).
    if (!this.peersDirty) return;
    this.peersDirty = false;
    const layout = layoutFromTree(tree);
    for (const n of [...layout.keys()]) if (!this.endpoints.has(n)) layout.delete(n);
    const choice = choosePeers(layout, { peersPerLevel: this.opts.peersPerLevel });
    for (const [node, names] of choice) {
      const peers: LatencyPeerView[] = names.map((p) => ({ node: p, ...(this.endpoints.get(p) as LatencyEndpointView) }));
      const key = JSON.stringify(peers);
      if (this.sentPeers.get(node) === key) continue;
      if (this.deps.send(node, { latencyPeers: { peers } })) this.sentPeers.set(node, key);
      else this.peersDirty = true;
    }
  }

  private tick(): void {
    this.refreshPeers();
    const now = this.deps.clock.nowMs();
    for (const c of this.aggregator.evaluate(now)) {
      const p99Ms = c.p99Us / 1000;
      const siblingsP99Ms = c.siblingsP99Us / 1000;
      this.deps.log.warn({ level: c.level, domain: c.name, p99Ms, siblingsP99Ms }, c.degraded ? 'domain degraded: east-west latency above its siblings' : 'domain recovered');
      this.deps.events.publish({
        v: EVENT_SCHEMA_VERSION,
        id: randomUUID(),
        at: new Date(now).toISOString(),
        kind: 'domain',
        level: c.level,
        domain: c.name,
        type: c.degraded ? 'degraded' : 'recovered',
        p99Ms,
        siblingsP99Ms,
      });
    }
  }

  degraded(): DomainRef[] {
    return this.aggregator.degraded();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.nc && !this.nc.isClosed()) await this.nc.close().catch(() => undefined);
  }
}
