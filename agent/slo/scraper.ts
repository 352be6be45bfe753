/**
 * Scrapes the latency histogram of each SLO replica running on this node and publishes one
 * ServiceWindow per scrape period on `gantry.telemetry.service.<this node>` (the window names its
 * service) through the agent's TelemetrySink. The first scrape of a task is its baseline (nothing is published); a failed
 * scrape publishes nothing and keeps the baseline, so the next good one covers the gap.
 */
import type { Clock } from '../../shared/clock/index.js';
import { SERVICE_WINDOW_SCHEMA_VERSION, serviceTelemetrySubject, type ServiceWindow } from '../../shared/events/index.js';
import type { Logger } from '../../shared/log/index.js';
import type { TelemetrySink } from '../telemetry/index.js';
import { histogramDelta, histogramOf, parseExposition, type Histogram } from './parse-prometheus.js';

/** One task to scrape: a rank that serves its replica's metrics. */
export interface SloTarget {
  jobId: string;
  rank: number;
  epoch: number;
  service: string;
  metric: string;
  port: number;
  /** 0: the scraper's scrapeIntervalMs. */
  windowMs: number;
  replica: number;
}

export interface SloScraperOptions {
  nodeName: string;
  scrapeIntervalMs: number;
  scrapeTimeoutMs: number;
  /** Where replicas listen; default 127.0.0.1. */
  host?: string;
}

interface Tracked {
  target: SloTarget;
  timer: NodeJS.Timeout;
  prev?: Histogram;
  prevAtMs: number;
  busy: boolean;
  failing: boolean;
}

const keyOf = (t: { jobId: string; rank: number; epoch: number }): string => `${t.jobId}/${t.rank}/${t.epoch}`;

export class SloScraper {
  private readonly tracked = new Map<string, Tracked>();
  /** Counters for the agent's metrics: scrapes by outcome, windows published and dropped. */
  readonly stats = { scrapes: 0, failures: 0, published: 0, dropped: 0 };

  constructor(
    private readonly opts: SloScraperOptions,
    private readonly deps: { sink: TelemetrySink; clock: Clock; log: Logger },
  ) {}

  /** Starts scraping a task (replacing an earlier target of the same task). */
  track(target: SloTarget): void {
    this.untrack(target);
    const every = target.windowMs > 0 ? target.windowMs : this.opts.scrapeIntervalMs;
    const t: Tracked = { target: { ...target }, timer: setInterval(() => void this.tick(t), every), prevAtMs: 0, busy: false, failing: false };
    t.timer.unref();
    this.tracked.set(keyOf(target), t);
    void this.tick(t); // the baseline, at once
  }

  untrack(key: { jobId: string; rank: number; epoch: number }): void {
    const t = this.tracked.get(keyOf(key));
    if (!t) return;
    clearInterval(t.timer);
    this.tracked.delete(keyOf(key));
  }

  targets(): SloTarget[] {
    return [...this.tracked.values()].map((t) => ({ ...t.target }));
  }

  close(): void {
    for (const t of this.tracked.values()) clearInterval(t.timer);
    this.tracked.clear();
  }

  private async tick(t: Tracked): Promise<void> {
    if (t.busy) return; // a slow server never gets two scrapes at once
    t.busy = true;
    try {
      await this.scrape(t);
    } finally {
      t.busy = false;
    }
  }

  private async scrape(t: Tracked): Promise<void> {
    const { target } = t;
    const url = `http://${this.opts.host ?? '127.0.0.1'}:${target.port}/metrics`;
    let cur: Histogram | undefined;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.opts.scrapeTimeoutMs), headers: { accept: 'text/plain;version=0.0.4' } });
      const body = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      cur = histogramOf(parseExposition(body), target.metric);
      if (!cur) throw new Error(`no histogram ${target.metric} in the exposition`);
    } catch (e) {
      this.stats.scrapes++;
      this.stats.failures++;
      if (!t.failing) this.deps.log.warn({ job: target.jobId, rank: target.rank, url, err: (e as Error).message }, 'SLO scrape failed');
      t.failing = true;
      return;
    }
    this.stats.scrapes++;
    if (t.failing) this.deps.log.info({ job: target.jobId, rank: target.rank, url }, 'SLO scrape works again');
    t.failing = false;
    if (!this.tracked.has(keyOf(target))) return; // untracked while the scrape was in flight
    const nowMs = this.deps.clock.nowMs();
    if (!t.prev) {
      t.prev = cur;
      t.prevAtMs = nowMs;
      return;
    }
    const d = histogramDelta(t.prev, cur);
    const w: ServiceWindow = {
      v: SERVICE_WINDOW_SCHEMA_VERSION,
      service: target.service,
      metric: target.metric,
      node: this.opts.nodeName,
      jobId: target.jobId,
      epoch: target.epoch,
      rank: target.rank,
      replica: target.replica,
      startMs: t.prevAtMs,
      endMs: nowMs,
      le: d.le,
      buckets: d.buckets,
      count: d.count,
      sum: d.sum,
      reset: d.reset,
    };
    t.prev = cur;
    t.prevAtMs = nowMs;
    if (this.deps.sink.publish(serviceTelemetrySubject(this.opts.nodeName), new TextEncoder().encode(JSON.stringify(w)))) this.stats.published++;
    else this.stats.dropped++;
  }
}
