/** Pure histogram arithmetic for the autoscaler: merging windows and Prometheus's histogram_quantile. */

/** Cumulative buckets over finite bounds `le` plus a last +Inf bucket (le.length + 1 elements). */
export interface BucketCounts {
  le: readonly number[];
  buckets: readonly number[];
  count: number;
  sum: number;
}

export function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Sum of histograms with the same bounds (the caller keeps only those); undefined for none. */
export function mergeHistograms(hs: readonly BucketCounts[]): BucketCounts | undefined {
  if (hs.length === 0) return undefined;
  const le = hs[0]!.le;
  const buckets = new Array<number>(le.length + 1).fill(0);
  let count = 0;
  let sum = 0;
  for (const h of hs) {
    if (!sameBounds(h.le, le)) throw new Error('mergeHistograms: bounds differ');
    for (let i = 0; i < buckets.length; i++) buckets[i]! += h.buckets[i]!;
    count += h.count;
    sum += h.sum;
  }
  return { le: [...le], buckets, count, sum };
}

/**
 * The q-quantile the way Prometheus's histogram_quantile computes it: find the bucket holding
 * rank q × total and interpolate linearly inside it (from 0 for the first bucket); a rank in the
 * +Inf bucket answers the highest finite bound. NaN without observations.
 */
export function histogramQuantile(q: number, h: Pick<BucketCounts, 'le' | 'buckets'>): number {
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const n = h.buckets.length;
  const total = h.buckets[n - 1] ?? 0;
  if (n < 2 || total === 0) return NaN;
  // Counters scraped at slightly different times can dip; Prometheus forces them monotonic.
  const cum = [...h.buckets];
  for (let i = 1; i < n; i++) if (cum[i]! < cum[i - 1]!) cum[i] = cum[i - 1]!;
  let rank = q * total;
  let b = cum.findIndex((c) => c >= rank);
  if (b < 0) b = n - 1;
  if (b === n - 1) return h.le[n - 2]!;
  if (b === 0 && h.le[0]! <= 0) return h.le[0]!;
  const start = b === 0 ? 0 : h.le[b - 1]!;
  const end = h.le[b]!;
  const below = b === 0 ? 0 : cum[b - 1]!;
  const inBucket = cum[b]! - below;
  rank -= below;
  return start + (end - start) * (rank / inBucket);
}
