/**
 * Service telemetry: one versioned JSON message per replica per window on
 * `gantry.telemetry.service.<node>` (the publishing agent's node, one subject token; the service, a
 * job id, is in the message). Agents publish, the scheduler's autoscaler consumes. Core NATS,
 * fire-and-forget: a lost window is only a gap.
 */
import { InvalidArgumentError } from '../errors/index.js';

export const SERVICE_WINDOW_SCHEMA_VERSION = 1 as const;

/**
 * The change of one replica's latency histogram over one window. `buckets` are cumulative like
 * Prometheus's `_bucket` series: buckets[i] = observations ≤ le[i] during the window, and the last
 * element (one more than `le`) is the `+Inf` bucket, equal to `count`.
 */
export interface ServiceWindow {
  v: typeof SERVICE_WINDOW_SCHEMA_VERSION;
  service: string;
  /** The histogram scraped, e.g. vllm:e2e_request_latency_seconds. */
  metric: string;
  /** The publishing agent's node; the scheduler drops a window whose subject names another node. */
  node: string;
  jobId: string;
  epoch: number;
  rank: number;
  replica: number;
  /** Unix ms of the previous scrape and of this one (the agent's clock). */
  startMs: number;
  endMs: number;
  /** Finite upper bounds in seconds, ascending. */
  le: number[];
  /** Cumulative observation deltas per bucket; le.length + 1 elements (the last is +Inf). */
  buckets: number[];
  count: number;
  /** Seconds observed during the window. */
  sum: number;
  /** The counters went down since the previous scrape (the server restarted): the deltas are the new values. */
  reset: boolean;
}

const nonNegative = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

/** Validates a decoded message; throws InvalidArgumentError naming the field. */
export function parseServiceWindow(data: unknown): ServiceWindow {
  if (typeof data !== 'object' || data === null) throw new InvalidArgumentError('window', 'must be a JSON object');
  const w = data as Record<string, unknown>;
  if (w.v !== SERVICE_WINDOW_SCHEMA_VERSION) throw new InvalidArgumentError('v', `unsupported schema version ${JSON.stringify(w.v)}`);
  for (const k of ['service', 'metric', 'node', 'jobId'] as const) {
    if (typeof w[k] !== 'string' || w[k] === '') throw new InvalidArgumentError(k, 'must be a non-empty string');
  }
  for (const k of ['epoch', 'rank', 'replica', 'startMs', 'endMs', 'count', 'sum'] as const) {
    if (!nonNegative(w[k])) throw new InvalidArgumentError(k, 'must be a non-negative number');
  }
  if (typeof w.reset !== 'boolean') throw new InvalidArgumentError('reset', 'must be a boolean');
  if (!Array.isArray(w.le) || !w.le.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new InvalidArgumentError('le', 'must be a list of finite numbers');
  const le = w.le as number[];
  for (let i = 1; i < le.length; i++) if (!(le[i]! > le[i - 1]!)) throw new InvalidArgumentError(`le[${i}]`, 'bounds must be strictly ascending');
  if (!Array.isArray(w.buckets) || w.buckets.length !== le.length + 1 || !w.buckets.every(nonNegative)) {
    throw new InvalidArgumentError('buckets', `must be ${le.length + 1} non-negative numbers (one per bound, then +Inf)`);
  }
  const b = w.buckets as number[];
  for (let i = 1; i < b.length; i++) if (b[i]! < b[i - 1]!) throw new InvalidArgumentError(`buckets[${i}]`, 'cumulative buckets must not decrease');
  return w as unknown as ServiceWindow;
}
