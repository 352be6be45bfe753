/**
 * Fixed log-spaced latency histogram, shared by the agent (records RTTs) and the scheduler (merges
 * them). Bucket counts are mergeable by addition, unlike percentiles. Pure: no I/O, no clock.
 *
 * Buckets, in microseconds: bucket 0 holds (0, 10]; bucket i (1 ≤ i < 64) holds
 * (10·1.25^(i-1), 10·1.25^i]; bucket 64 holds everything above 10·1.25^63 µs (≈ 12.7 s).
 * A quantile reads as its bucket's upper bound (at most 25% above the true value), capped by the max.
 */
import { InvalidArgumentError } from '../errors/index.js';

export const HISTOGRAM_BUCKETS = 65;
const BASE_US = 10;
const GROWTH = 1.25;
const LOG_GROWTH = Math.log(GROWTH);

/** Upper bound of each bucket in µs (the last is Infinity). */
export const BUCKET_UPPER_US: Float64Array = (() => {
  const b = new Float64Array(HISTOGRAM_BUCKETS);
  for (let i = 0; i < HISTOGRAM_BUCKETS - 1; i++) b[i] = BASE_US * GROWTH ** i;
  b[HISTOGRAM_BUCKETS - 1] = Infinity;
  return b;
})();

export function bucketIndex(us: number): number {
  if (!(us > BASE_US)) return 0;
  let i = Math.ceil(Math.log(us / BASE_US) / LOG_GROWTH);
  // Floating point at the bucket edges: settle on the bucket whose bounds hold the value.
  if (i > 0 && us <= (BUCKET_UPPER_US[i - 1] as number)) i--;
  else if (i < HISTOGRAM_BUCKETS - 1 && us > (BUCKET_UPPER_US[i] as number)) i++;
  return Math.min(i, HISTOGRAM_BUCKETS - 1);
}

export function newCounts(): Float64Array {
  return new Float64Array(HISTOGRAM_BUCKETS);
}

export function record(counts: Float64Array, us: number): void {
  const i = bucketIndex(us);
  counts[i] = (counts[i] as number) + 1;
}

export function mergeInto(target: Float64Array, source: Float64Array): void {
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) target[i] = (target[i] as number) + (source[i] as number);
}

export function total(counts: Float64Array): number {
  let n = 0;
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) n += counts[i] as number;
  return n;
}

/**
 * The q-quantile (0 < q ≤ 1) as the upper bound of the bucket holding the ceil(q·n)-th sample,
 * capped at `maxUs` when given (the last bucket has no upper bound). 0 for an empty histogram.
 */
export function quantileUs(counts: Float64Array, q: number, maxUs = Infinity): number {
  const n = total(counts);
  if (n === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * n));
  let cum = 0;
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
    cum += counts[i] as number;
    if (cum >= rank) return Math.min(BUCKET_UPPER_US[i] as number, maxUs);
  }
  return maxUs;
}

/** Sparse form for the wire: [index, count, index, count, ...] for non-empty buckets, ascending. */
export function toSparse(counts: Float64Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) if ((counts[i] as number) > 0) out.push(i, counts[i] as number);
  return out;
}

/**
 * Adds a sparse histogram into `target` (and `also`, when given). Throws InvalidArgumentError naming
 * `field` (a string, or a function that builds it only on error) on a malformed one.
 */
export function addSparse(target: Float64Array, sparse: unknown, field: string | (() => string), also?: Float64Array): number {
  // Checked before anything is added, so a malformed list changes nothing.
  const n = sparseTotal(sparse, field);
  const list = sparse as number[];
  for (let k = 0; k < list.length; k += 2) {
    const i = list[k] as number;
    const c = list[k + 1] as number;
    target[i] = (target[i] as number) + c;
    if (also) also[i] = (also[i] as number) + c;
  }
  return n;
}

/**
 * Checks a sparse list ([bucket, count, bucket, count, ...]: valid bucket indices, non-negative
 * integer counts) and returns its total; InvalidArgumentError naming the field otherwise.
 */
export function sparseTotal(sparse: unknown, field: string | (() => string)): number {
  const name = (): string => (typeof field === 'string' ? field : field());
  if (!Array.isArray(sparse) || sparse.length % 2 !== 0) throw new InvalidArgumentError(name(), 'must be a list of [bucket, count] pairs');
  let n = 0;
  for (let k = 0; k < sparse.length; k += 2) {
    const i = sparse[k] as unknown;
    const c = sparse[k + 1] as unknown;
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= HISTOGRAM_BUCKETS) {
      throw new InvalidArgumentError(`${name()}[${k}]`, `bucket index must be an integer in 0..${HISTOGRAM_BUCKETS - 1}`);
    }
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0) throw new InvalidArgumentError(`${name()}[${k + 1}]`, 'count must be a non-negative integer');
    n += c;
  }
  return n;
}
