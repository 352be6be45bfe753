/**
 * The scheduler's end of service telemetry: a core-NATS subscriber on `gantry.telemetry.service.*`
 * that feeds each service's windows to its ServiceAutoscaler, exports the p99 and the target, and
 * hands decisions to whoever acts on them (the job manager) through onDecision.
 *
 * The publishing node is the subject's last token, never the payload: NATS permissions confine each
 * agent to `gantry.telemetry.*.<its node>`, so the subject is what is proven. A window whose payload
 * names another node, or that comes from a node running no replica of its service, is dropped and
 * counted (`foreign`): one node cannot scale another's service.
 */
import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../../shared/clock/index.js';
import { parseServiceWindow, SERVICE_TELEMETRY_SUBJECT_ALL, telemetrySubjectNode, type ServiceWindow } from '../../shared/events/index.js';
import type { Logger } from '../../shared/log/index.js';
import { warnOnPermissionErrors } from '../../shared/natsconn/index.js';
import { ServiceAutoscaler, type AutoscaleOptions, type Evaluation, type ServiceState } from './autoscaler.js';

/**
 * A scaling decision for one service. Contract for the job manager: `service` is the job id;
 * `current` is the replica count the lookup reported when the decision was taken; `target` is
 * current ± 1, always within the job's [min, max]; `reason` is ready for the job's event message.
 * Decisions are advisory and idempotent in effect: while the job manager has not yet reached a
 * target, the same target may be asked again after the cooldown.
 */
export interface ServiceDecision {
  service: string;
  current: number;
  target: number;
  reason: string;
  p99Seconds: number;
  /** Scheduler clock, unix ms. */
  atMs: number;
}

/**
 * What the job manager knows of a service: undefined for a job that is not an active Inference
 * job with an SLO (its windows are then ignored and its autoscaler state dropped).
 */
export type ServiceLookup = (service: string) => ServiceState | undefined;

/** Whether `node` runs a live replica (a rank not exited) of `service` now: the job manager's records. */
export type ReplicaCheck = (service: string, node: string) => boolean;

export interface ServiceTelemetryDeps {
  lookup: ServiceLookup;
  runsReplica: ReplicaCheck;
  clock: Clock;
  log: Logger;
  registry?: Registry;
}

export class ServiceTelemetry {
  private readonly services = new Map<string, ServiceAutoscaler>();
  private readonly listeners = new Set<(d: ServiceDecision) => void>();
  private nc: NatsConnection | undefined;
  private closed = false;
  private readonly p99Gauge: Gauge<'service'> | undefined;
  private readonly targetGauge: Gauge<'service'> | undefined;
  /**
   * Windows received; refused as invalid (not a window, or a subject that names no node); foreign
   * (the payload names another node than the subject, or the node runs no replica of the service);
   * ignored (not an active SLO service); decisions taken.
   */
  readonly stats = { received: 0, invalid: 0, foreign: 0, ignored: 0, decisions: 0 };

  constructor(
    private readonly opts: AutoscaleOptions,
    private readonly deps: ServiceTelemetryDeps,
  ) {
    if (deps.registry) {
      const stats = this.stats;
      new Counter({
        name: 'gantry_scheduler_service_windows_total',
        help: 'Service telemetry windows from agents, by result (accepted; invalid; foreign: naming another node than its subject, or from a node running no replica of the service; ignored: no active SLO service).',
        labelNames: ['result'],
        registers: [deps.registry],
        collect() {
          this.reset();
          this.inc({ result: 'accepted' }, stats.received - stats.invalid - stats.foreign - stats.ignored);
          this.inc({ result: 'invalid' }, stats.invalid);
          this.inc({ result: 'foreign' }, stats.foreign);
          this.inc({ result: 'ignored' }, stats.ignored);
        },
      });
      this.p99Gauge = new Gauge({
        name: 'gantry_scheduler_service_p99_seconds',
        help: "A service's p99 latency over the autoscaler's window, from its replicas' merged histograms.",
        labelNames: ['service'],
        registers: [deps.registry],
      });
      this.targetGauge = new Gauge({
        name: 'gantry_scheduler_service_replicas_target',
        help: 'Replica count the autoscaler last asked for (the current count until it asks).',
        labelNames: ['service'],
        registers: [deps.registry],
      });
    }
  }

  /** Registers a decision listener; returns its removal. */
  onDecision(cb: (d: ServiceDecision) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Feeds one window (already validated) and evaluates its service at the scheduler's time. */
  ingest(w: ServiceWindow): Evaluation | undefined {
    const state = this.deps.lookup(w.service);
    if (!state) {
      this.stats.ignored++;
      this.forget(w.service);
      return undefined;
    }
    let a = this.services.get(w.service);
    if (!a) {
      a = new ServiceAutoscaler(this.opts);
      this.services.set(w.service, a);
      this.targetGauge?.set({ service: w.service }, state.current);
    }
    const now = this.deps.clock.nowMs();
    a.observe(w, now);
    const ev = a.evaluate(now, state);
    if (ev.p99Seconds !== null) this.p99Gauge?.set({ service: w.service }, ev.p99Seconds);
    if (ev.decision) {
      const d: ServiceDecision = { service: w.service, ...ev.decision, atMs: now };
      this.stats.decisions++;
      this.targetGauge?.set({ service: w.service }, d.target);
      this.deps.log.info({ service: d.service, current: d.current, target: d.target, p99Seconds: d.p99Seconds }, d.reason);
      for (const cb of this.listeners) {
        try {
          cb(d);
        } catch (e) {
          this.deps.log.error({ err: e, service: d.service }, 'autoscale decision listener failed');
        }
      }
    }
    return ev;
  }

  /** Drops a service's state and series (its job ended). */
  forget(service: string): void {
    if (!this.services.delete(service)) return;
    this.p99Gauge?.remove({ service });
    this.targetGauge?.remove({ service });
  }

  /**
   * One raw NATS message: validated, its node taken from the subject and checked against the payload
   * and against where the service's replicas run, then ingested.
   */
  handle(subject: string, data: Uint8Array): void {
    this.stats.received++;
    let w: ServiceWindow;
    let node: string | undefined;
    try {
      node = telemetrySubjectNode(subject, 'service');
      if (node === undefined) throw new Error(`subject ${subject} names no node`);
      w = parseServiceWindow(JSON.parse(new TextDecoder().decode(data)));
    } catch (e) {
      this.stats.invalid++;
      if (this.stats.invalid === 1 || this.stats.invalid % 1000 === 0) this.deps.log.warn({ subject, err: (e as Error).message, invalid: this.stats.invalid }, 'invalid service window');
      return;
    }
    let why = '';
    if (w.node !== node) why = `the window names node ${JSON.stringify(w.node)}, its subject ${JSON.stringify(node)}`;
    else if (!this.deps.runsReplica(w.service, node)) {
      if (!this.deps.lookup(w.service)) {
        // Not an active SLO service (ended, or never was): ignored, its state dropped.
        this.stats.ignored++;
        this.forget(w.service);
        return;
      }
      why = `node ${JSON.stringify(node)} runs no replica of service ${JSON.stringify(w.service)}`;
    }
    if (why) {
      this.stats.foreign++;
      if (this.stats.foreign === 1 || this.stats.foreign % 1000 === 0) this.deps.log.warn({ subject, service: w.service, err: why, foreign: this.stats.foreign }, 'service window from a node that may not speak for it: dropped');
      return;
    }
    this.ingest(w);
  }

  /** Connects (retrying in the background until NATS is there) and subscribes. */
  start(connection: ConnectionOptions): void {
    void (async () => {
      try {
        const nc = await connect({ ...connection, maxReconnectAttempts: -1, reconnectTimeWait: 500, waitOnFirstConnect: true });
        if (this.closed) {
          await nc.close();
          return;
        }
        this.nc = nc;
        warnOnPermissionErrors(nc, this.deps.log);
        const sub = nc.subscribe(SERVICE_TELEMETRY_SUBJECT_ALL);
        this.deps.log.info({ server: nc.getServer(), subject: SERVICE_TELEMETRY_SUBJECT_ALL }, 'service telemetry subscribed');
        for await (const m of sub) this.handle(m.subject, m.data);
      } catch (e) {
        if (!this.closed) this.deps.log.error({ err: e }, 'service telemetry subscription ended');
      }
    })();
  }

  /** Resolves once the subscription is registered with the server (tests). */
  async ready(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.nc) {
      if (Date.now() > until) throw new Error('service telemetry did not connect');
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.nc.flush();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.nc && !this.nc.isClosed()) await this.nc.close().catch(() => undefined);
    this.nc = undefined;
  }
}
