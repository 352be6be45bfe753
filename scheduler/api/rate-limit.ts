/**
 * Per-caller request rates: one token bucket per key (a verified identity, or a client address for
 * anonymous callers). Pure: the time comes in as an argument, from the guard's Clock.
 */

export interface RateLimitOptions {
  /** Tokens added per second; 0: no limit (take always allows). */
  requestsPerSecond: number;
  /** The bucket's size: calls a caller may make at once after being idle. */
  burst: number;
  /** Buckets kept before idle (full) ones are dropped (default 10,000). */
  maxKeys?: number;
}

/** take's answer: allowed, or refused with how long until one token is there. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  atMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;

  constructor(private readonly opts: RateLimitOptions) {
    this.maxKeys = opts.maxKeys ?? 10_000;
  }

  get enabled(): boolean {
    return this.opts.requestsPerSecond > 0;
  }

  /** Buckets held now (for tests and bounds). */
  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token from `key`'s bucket at `nowMs`. */
  take(key: string, nowMs: number): RateDecision {
    if (!this.enabled) return { allowed: true };
    const { requestsPerSecond: rate, burst } = this.opts;
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.sweep(nowMs);
      b = { tokens: burst, atMs: nowMs };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(burst, b.tokens + (Math.max(0, nowMs - b.atMs) * rate) / 1000);
      b.atMs = Math.max(b.atMs, nowMs);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(((1 - b.tokens) * 1000) / rate)) };
  }

  /** Drops the buckets that have refilled (their callers are idle); if none has, the oldest half. */
  private sweep(nowMs: number): void {
    const { requestsPerSecond: rate, burst } = this.opts;
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((nowMs - b.atMs) * rate) / 1000 >= burst) this.buckets.delete(k);
    }
    if (this.buckets.size < this.maxKeys) return;
    let drop = Math.ceil(this.buckets.size / 2);
    for (const k of this.buckets.keys()) {
      if (drop-- <= 0) break;
      this.buckets.delete(k);
    }
  }
}

/** A call's client address without its port (`ipv4:10.0.0.5:4711`, `[::1]:4711` -> the host). */
export function peerAddress(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, '');
  const m = /^\[(.*)\]:\d+$/.exec(p) ?? /^([^:]*):\d+$/.exec(p);
  return m ? m[1]! : p;
}
