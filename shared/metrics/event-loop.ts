import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/**
 * How finely the event loop's delay is sampled, in milliseconds: a stall shorter than this can go
 * unseen, and each sample costs a timer wake-up (10 ms is Node's default and prom-client's).
 */
export const EVENT_LOOP_RESOLUTION_MS = 10;

/**
 * The histogram's samples are the nanoseconds between wake-ups of a timer armed every resolution
 * ms (an idle loop reads about 10 ms): the delay is what exceeds the resolution.
 */
function delaySeconds(sampleNs: number): number {
  return Math.max(0, sampleNs / 1e6 - EVENT_LOOP_RESOLUTION_MS) / 1e3;
}

interface Shared {
  histogram: IntervalHistogram;
  max: Gauge;
  p99: Gauge;
}

/** One monitor per process and prefix, like registerProcessMetrics (many agents may share one process). */
const perProcess = new Map<string, Shared>();

/**
 * The event loop's delay, measured with perf_hooks.monitorEventLoopDelay, as two gauges over the
 * window since the previous scrape (each scrape reads the window and starts a new one):
 * `<prefix>event_loop_delay_max_seconds`, the longest delay, so a stall between scrapes is never
 * averaged away, and `<prefix>event_loop_delay_p99_seconds`. Before any sample both read 0.
 *
 * The window is shared by every scraper of the process: two Prometheus servers scraping the same
 * daemon each see the stalls since either one's last scrape.
 */
export function registerEventLoopDelay(registry: Registry, prefix: string): void {
  let shared = perProcess.get(prefix);
  if (!shared) {
    const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    histogram.enable();
    // The gauges are set by the max gauge's collect, which runs first (registration order) and
    // resets the window, so both describe the same window.
    let p99Seconds = 0;
    const max = new Gauge({
      name: `${prefix}event_loop_delay_max_seconds`,
      help: 'The longest event-loop delay since the previous scrape, beyond the 10 ms sampling interval (perf_hooks.monitorEventLoopDelay).',
      registers: [],
      collect() {
        // An empty window reads 0 (Node's min of an empty histogram is a huge sentinel, never read).
        const seen = histogram.count > 0;
        this.set(seen ? delaySeconds(histogram.max) : 0);
        p99Seconds = seen ? delaySeconds(histogram.percentile(99)) : 0;
        histogram.reset();
      },
    });
    const p99 = new Gauge({
      name: `${prefix}event_loop_delay_p99_seconds`,
      help: 'The 99th percentile of event-loop delay since the previous scrape (perf_hooks.monitorEventLoopDelay).',
      registers: [],
      collect() {
        this.set(p99Seconds);
      },
    });
    shared = { histogram, max, p99 };
    perProcess.set(prefix, shared);
  }
  registry.registerMetric(shared.max);
  registry.registerMetric(shared.p99);
}
