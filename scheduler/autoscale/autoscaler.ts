/**
 * The autoscaling policy for one service, pure: it is handed windows and times, reads no clock.
 * p99 over a sliding window of the replicas' merged histograms; one replica more when p99 stays
 * above p99Ms × upFactor for upAfterMs, one fewer when it stays below p99Ms × downFactor for
 * downAfterMs (hysteresis: between the two nothing happens and both timers restart), at most one
 * step per cooldownMs, never outside [min, max], never on fewer than minSamples observations.
 */
import { ACTIVE_JOB_STATES, type JobRecord } from '../../shared/domain/index.js';
import { histogramQuantile, mergeHistograms, sameBounds, type BucketCounts } from './histogram.js';

export interface AutoscaleOptions {
  /** Sliding window the p99 is computed over. */
  windowMs: number;
  /** Scale up when p99 > p99Ms × upFactor ... */
  upFactor: number;
  /** ... for this long without a break. */
  upAfterMs: number;
  /** Scale down when p99 < p99Ms × downFactor ... */
  downFactor: number;
  /** ... for this long without a break. */
  downAfterMs: number;
  /** At least this long between two decisions of one service. */
  cooldownMs: number;
  /** Observations the window must hold before the policy acts. */
  minSamples: number;
}

/** What the job manager knows of the service now. */
export interface ServiceState {
  current: number;
  min: number;
  max: number;
  p99Ms: number;
}

export interface ScaleDecision {
  current: number;
  target: number;
  /** For the job's events, e.g. "p99 412 ms > SLO 300 ms for 30 s: 2 → 3 replicas". */
  reason: string;
  p99Seconds: number;
}

export interface Evaluation {
  /** p99 over the window in seconds; null without observations. */
  p99Seconds: number | null;
  samples: number;
  decision?: ScaleDecision;
  /** Why there is no decision (or the decision's reason). */
  why: string;
}

const ms = (x: number): string => `${Math.round(x)} ms`;
const secs = (x: number): string => `${Math.round(x / 100) / 10} s`;
const threshold = (p99Ms: number, factor: number): string => (factor === 1 ? `SLO ${ms(p99Ms)}` : `${ms(p99Ms * factor)} (${factor} × SLO ${ms(p99Ms)})`);

export class ServiceAutoscaler {
  private windows: Array<BucketCounts & { atMs: number }> = [];
  private aboveSinceMs: number | undefined;
  private belowSinceMs: number | undefined;
  private lastDecisionMs: number | undefined;

  constructor(private readonly opts: AutoscaleOptions) {}

  /** One replica's window, received at `atMs`. New bounds replace windows with the old ones. */
  observe(w: BucketCounts, atMs: number): void {
    if (this.windows.length && !sameBounds(this.windows[0]!.le, w.le)) this.windows = [];
    this.windows.push({ le: [...w.le], buckets: [...w.buckets], count: w.count, sum: w.sum, atMs });
  }

  /** Observations in the window ending at `nowMs`, merged. */
  merged(nowMs: number): BucketCounts | undefined {
    const from = nowMs - this.opts.windowMs;
    this.windows = this.windows.filter((w) => w.atMs > from);
    return mergeHistograms(this.windows);
  }

  evaluate(nowMs: number, s: ServiceState): Evaluation {
    const m = this.merged(nowMs);
    const samples = m?.count ?? 0;
    const q = m && samples > 0 ? histogramQuantile(0.99, m) : NaN;
    const p99Seconds = Number.isNaN(q) ? null : q;
    const hold = (why: string): Evaluation => ({ p99Seconds, samples, why });
    if (samples < this.opts.minSamples || p99Seconds === null) {
      this.aboveSinceMs = this.belowSinceMs = undefined;
      return hold(`too few samples: ${samples} < ${this.opts.minSamples} in ${secs(this.opts.windowMs)}`);
    }
    const p99Ms = p99Seconds * 1000;
    let dir: 1 | -1;
    let since: number;
    if (p99Ms > s.p99Ms * this.opts.upFactor) {
      this.belowSinceMs = undefined;
      since = this.aboveSinceMs ??= nowMs;
      dir = 1;
      if (nowMs - since < this.opts.upAfterMs) return hold(`p99 ${ms(p99Ms)} > ${threshold(s.p99Ms, this.opts.upFactor)} for ${secs(nowMs - since)}, not yet ${secs(this.opts.upAfterMs)}`);
      if (s.current >= s.max) return hold(`p99 ${ms(p99Ms)} > ${threshold(s.p99Ms, this.opts.upFactor)} but already at max ${s.max} replicas`);
    } else if (p99Ms < s.p99Ms * this.opts.downFactor) {
      this.aboveSinceMs = undefined;
      since = this.belowSinceMs ??= nowMs;
      dir = -1;
      if (nowMs - since < this.opts.downAfterMs) return hold(`p99 ${ms(p99Ms)} < ${threshold(s.p99Ms, this.opts.downFactor)} for ${secs(nowMs - since)}, not yet ${secs(this.opts.downAfterMs)}`);
      if (s.current <= s.min) return hold(`p99 ${ms(p99Ms)} < ${threshold(s.p99Ms, this.opts.downFactor)} but already at min ${s.min} replicas`);
    } else {
      this.aboveSinceMs = this.belowSinceMs = undefined;
      return hold(`p99 ${ms(p99Ms)} within ${ms(s.p99Ms * this.opts.downFactor)}–${ms(s.p99Ms * this.opts.upFactor)}`);
    }
    if (this.lastDecisionMs !== undefined && nowMs - this.lastDecisionMs < this.opts.cooldownMs) {
      return hold(`cooling down: ${secs(nowMs - this.lastDecisionMs)} since the last step, ${secs(this.opts.cooldownMs)} needed`);
    }
    const target = s.current + dir;
    const reason =
      `p99 ${ms(p99Ms)} ${dir > 0 ? '>' : '<'} ${threshold(s.p99Ms, dir > 0 ? this.opts.upFactor : this.opts.downFactor)} ` +
      `for ${secs(nowMs - since)}: ${s.current} → ${target} replicas`;
    this.lastDecisionMs = nowMs;
    // Hysteresis starts over: the next step needs the condition to hold again for the full time.
    this.aboveSinceMs = this.belowSinceMs = undefined;
    return { p99Seconds, samples, why: reason, decision: { current: s.current, target, reason, p99Seconds } };
  }
}

/**
 * A job's ServiceState for the autoscaler: defined only for an active Inference job with an SLO;
 * current = the replicas it has placed (distinct units among its ranks).
 */
export function serviceStateOf(job: JobRecord | undefined): ServiceState | undefined {
  if (!job || !ACTIVE_JOB_STATES.has(job.state) || job.spec.kind !== 'Inference' || !job.spec.slo) return undefined;
  return { current: job.replicasTarget ?? new Set(job.ranks.map((r) => r.unit)).size, min: job.spec.replicas.min, max: job.spec.replicas.max, p99Ms: job.spec.slo.p99Ms };
}

/**
 * Whether `node` runs a live replica of the job (a rank placed there that has not exited): the
 * autoscaler takes a service window only from such a node.
 */
export function runsReplicaOf(job: JobRecord | undefined, node: string): boolean {
  return !!job && ACTIVE_JOB_STATES.has(job.state) && job.ranks.some((r) => r.node === node && r.state !== 'exited');
}
