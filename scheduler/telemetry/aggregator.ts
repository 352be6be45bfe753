/**
 * Pure east-west latency aggregation: latency windows from agents (per probed peer, RTT bucket
 * counts) merged per pair of domains the tree can tell apart, over a sliding window; each domain's
 * p99 compared with its siblings'; degraded / recovered decisions with hysteresis. No I/O, no clock:
 * times come in as arguments.
 *
 * Attribution: a probe between nodes A and B says something about the links where their paths in
 * the tree part: below their lowest common domain G, A sits in child domain X and B in child Y of G
 * (two nodes of one leaf: X = A and Y = B, the node-to-leaf links; two leaves of one spine: the two
 * leaves; two spines: the spines). The sample goes to the pair (X, Y); both directions merge.
 * Domains that hold exactly the nodes of their only child are collapsed into it (an HGX server's own
 * NVLink domain is the node), so every pair is between domains the tree can tell apart.
 *
 * A domain's p99 is the lower median, over the pairs it takes part in, of each pair's p99: one slow
 * peer makes one pair slow, not the domain. A domain is *above* when it has at least `minSamples`
 * samples, at least one sibling (same parent) with enough samples, and its p99 exceeds
 * `degradeFactor` × max(lower median of its siblings' p99s, `p99FloorUs`). Above for `degradeAfterMs`
 * → degraded; not above (including no data) for `clearAfterMs` → recovered.
 */
import { BUCKET_UPPER_US, HISTOGRAM_BUCKETS, quantileUs, sparseTotal, total } from '../../shared/histogram/index.js';
import type { LatencyWindow } from '../../shared/telemetry/index.js';

/** One step of a node's path in the tree. */
export interface DomainRef {
  level: string;
  name: string;
}

export interface AggregatorOptions {
  /** Length of the sliding window that pairs' histograms are merged over. */
  slidingWindowMs: number;
  /** How many slots the sliding window is kept in (its resolution). */
  slots: number;
  degradeFactor: number;
  degradeAfterMs: number;
  clearAfterMs: number;
  minSamples: number;
  p99FloorUs: number;
}

export interface DomainStatus extends DomainRef {
  /** The parent domain (siblings share it); '' for the root. */
  parent: string;
  p99Us: number;
  siblingsP99Us: number;
  samples: number;
  degraded: boolean;
}

export interface DomainChange extends DomainRef {
  degraded: boolean;
  p99Us: number;
  siblingsP99Us: number;
}

/**
 * One pair's histograms, one per slot, in one buffer so that an ingest touches one object and the
 * few cache lines its buckets fall in (10,000 pairs do not fit a CPU cache; every line an ingest
 * touches is a likely miss): `epochs` = the epoch each slot holds (-1: empty), `counts` = slot 0's
 * B buckets, then slot 1's, ... (B = HISTOGRAM_BUCKETS). Counts are 32-bit and saturate; the sum
 * over slots is built by evaluate(), not kept on every ingest (that doubled the lines touched).
 */
interface Pair {
  a: string;
  b: string;
  group: string;
  epochs: Float64Array;
  counts: Uint32Array;
}

interface DomainState {
  ref: DomainRef;
  parent: string;
  degraded: boolean;
  /** Since when the evidence has disagreed with `degraded` (NaN: it agrees). */
  pendingSince: number;
  last: DomainStatus | undefined;
}

/** The largest RTT a quantile reads as (lost probes land in the open last bucket). */
const CAP_US = (BUCKET_UPPER_US[HISTOGRAM_BUCKETS - 2] as number) * 1.25;

/** The largest count a slot's bucket holds (they saturate rather than wrap). */
const COUNT_MAX = 0xffff_ffff;

/** A new pair: every slot empty. */
function newPair(a: string, b: string, group: string, slots: number): Pair {
  const buf = new ArrayBuffer(slots * 8 + slots * HISTOGRAM_BUCKETS * 4);
  const epochs = new Float64Array(buf, 0, slots).fill(-1);
  return { a, b, group, epochs, counts: new Uint32Array(buf, slots * 8, slots * HISTOGRAM_BUCKETS) };
}

const keyOf = (r: DomainRef): string => `${r.level}\u0000${r.name}`;

function lowerMedian(values: number[]): number {
  values.sort((x, y) => x - y);
  return values[(values.length - 1) >> 1] as number;
}

export class LatencyAggregator {
  private readonly slotMs: number;
  /** node -> path from the root's children down to the node itself (collapsed). */
  private paths = new Map<string, DomainRef[]>();
  private readonly pairs = new Map<string, Pair>();
  /** node -> peer -> pair (a cache of the attribution; cleared on layout change). */
  private route = new Map<string, Map<string, Pair | null>>();
  private readonly states = new Map<string, DomainState>();
  /** Windows refused (unknown node, malformed) since start. */
  refused = 0;
  /** Windows taken since start. */
  accepted = 0;

  constructor(private readonly opts: AggregatorOptions) {
    this.slotMs = Math.max(1, Math.ceil(opts.slidingWindowMs / opts.slots));
  }

  /** Where each node sits: its path from the root's children down to the node (see collapsePaths). */
  setLayout(paths: Map<string, DomainRef[]>): void {
    this.paths = paths;
    this.route = new Map();
    // Attribution may have changed (a spine that had one leaf has two now): pairs start afresh;
    // domains keep their state while the tree still has them, and take their new parent when next seen.
    this.pairs.clear();
    const present = new Set<string>();
    for (const p of paths.values()) for (const r of p) present.add(keyOf(r));
    for (const k of [...this.states.keys()]) if (!present.has(k)) this.states.delete(k);
  }

  /** The pair a probe from node to peer counts in (null: not attributable), remembered in node's route `m`. */
  private attribute(node: string, peer: string, m: Map<string, Pair | null>): Pair | null {
    let p: Pair | null = null;
    const pa = this.paths.get(node);
    const pb = this.paths.get(peer);
    if (pa && pb && node !== peer) {
      let i = 0;
      while (i < pa.length && i < pb.length && keyOf(pa[i] as DomainRef) === keyOf(pb[i] as DomainRef)) i++;
      const x = pa[i];
      const y = pb[i];
      if (x && y) {
        const kx = keyOf(x);
        const ky = keyOf(y);
        const group = i === 0 ? '' : keyOf(pa[i - 1] as DomainRef);
        const [a, b] = kx < ky ? [kx, ky] : [ky, kx];
        const pk = `${a}\u0001${b}`;
        p = this.pairs.get(pk) ?? null;
        if (!p) {
          p = newPair(a, b, group, this.opts.slots);
          this.pairs.set(pk, p);
        }
        for (const [k, ref] of [[kx, x], [ky, y]] as const) {
          const st = this.states.get(k);
          if (st) st.parent = group;
          else this.states.set(k, { ref, parent: group, degraded: false, pendingSince: NaN, last: undefined });
        }
      }
    }
    m.set(peer, p);
    return p;
  }

  /**
   * Takes one agent window at `nowMs`. Returns the samples taken (RTTs plus lost probes, which count
   * as the slowest bucket). Peers outside the layout are skipped. Throws InvalidArgumentError on a
   * malformed bucket list.
   */
  ingest(w: LatencyWindow, nowMs: number): number {
    const slots = this.opts.slots;
    const epoch = Math.floor(nowMs / this.slotMs);
    const slot = epoch % slots;
    const at = slot * HISTOGRAM_BUCKETS;
    let route = this.route.get(w.node);
    if (!route) this.route.set(w.node, (route = new Map()));
    let n = 0;
    for (let i = 0; i < w.peers.length; i++) {
      const pw = w.peers[i]!;
      let pair = route.get(pw.peer);
      if (pair === undefined) pair = this.attribute(w.node, pw.peer, route);
      if (!pair) continue;
      const buckets = pw.buckets;
      n += sparseTotal(buckets, () => `peers[${i}].buckets`);
      const d = pair.counts;
      if (pair.epochs[slot] !== epoch) {
        if ((pair.epochs[slot] as number) >= 0) d.fill(0, at, at + HISTOGRAM_BUCKETS);
        pair.epochs[slot] = epoch;
      }
      for (let k = 0; k < buckets.length; k += 2) {
        const v = (d[at + (buckets[k] as number)] as number) + (buckets[k + 1] as number);
        d[at + (buckets[k] as number)] = v > COUNT_MAX ? COUNT_MAX : v;
      }
      if (pw.lost > 0) {
        const last = at + HISTOGRAM_BUCKETS - 1;
        const v = (d[last] as number) + pw.lost;
        d[last] = v > COUNT_MAX ? COUNT_MAX : v;
        n += pw.lost;
      }
    }
    if (n > 0) this.accepted++;
    else this.refused++;
    return n;
  }

  /** Merges the sliding window, updates every domain's state; returns the domains whose state changed. */
  evaluate(nowMs: number): DomainChange[] {
    const oldest = Math.floor(nowMs / this.slotMs) - this.opts.slots + 1;
    const perDomain = new Map<string, { p99s: number[]; samples: number }>();
    const merged = new Float64Array(HISTOGRAM_BUCKETS);
    for (const pair of this.pairs.values()) {
      // The slots still in the sliding window, summed; those that left it are emptied.
      merged.fill(0);
      for (let s = 0; s < this.opts.slots; s++) {
        const e = pair.epochs[s] as number;
        if (e < 0) continue;
        const at = s * HISTOGRAM_BUCKETS;
        if (e < oldest) {
          pair.counts.fill(0, at, at + HISTOGRAM_BUCKETS);
          pair.epochs[s] = -1;
          continue;
        }
        for (let i = 0; i < HISTOGRAM_BUCKETS; i++) merged[i] = (merged[i] as number) + (pair.counts[at + i] as number);
      }
      const n = total(merged);
      if (n === 0) continue;
      const p99 = quantileUs(merged, 0.99, CAP_US);
      for (const k of [pair.a, pair.b]) {
        let d = perDomain.get(k);
        if (!d) perDomain.set(k, (d = { p99s: [], samples: 0 }));
        d.p99s.push(p99);
        d.samples += n;
      }
    }
    const p99Of = new Map<string, number>();
    const byParent = new Map<string, string[]>();
    for (const [k, d] of perDomain) {
      if (d.samples < this.opts.minSamples) continue;
      p99Of.set(k, lowerMedian(d.p99s));
      const parent = this.states.get(k)?.parent ?? '';
      const list = byParent.get(parent);
      if (list) list.push(k);
      else byParent.set(parent, [k]);
    }
    const changes: DomainChange[] = [];
    for (const [k, st] of this.states) {
      const p99 = p99Of.get(k);
      let above = false;
      let sib = 0;
      if (p99 !== undefined) {
        const others = (byParent.get(st.parent) ?? []).filter((o) => o !== k).map((o) => p99Of.get(o) as number);
        if (others.length > 0) {
          sib = lowerMedian(others);
          above = p99 > this.opts.degradeFactor * Math.max(sib, this.opts.p99FloorUs);
        }
      }
      if (above === st.degraded) st.pendingSince = NaN;
      else {
        if (Number.isNaN(st.pendingSince)) st.pendingSince = nowMs;
        if (nowMs - st.pendingSince >= (st.degraded ? this.opts.clearAfterMs : this.opts.degradeAfterMs)) {
          st.degraded = above;
          st.pendingSince = NaN;
          changes.push({ ...st.ref, degraded: above, p99Us: p99 ?? 0, siblingsP99Us: sib });
        }
      }
      st.last = { ...st.ref, parent: st.parent, p99Us: p99 ?? 0, siblingsP99Us: sib, samples: perDomain.get(k)?.samples ?? 0, degraded: st.degraded };
    }
    return changes;
  }

  /** Every domain seen, as of the last evaluate(), in name order. */
  domains(): DomainStatus[] {
    const out: DomainStatus[] = [];
    for (const st of this.states.values()) {
      out.push(st.last ?? { ...st.ref, parent: st.parent, p99Us: 0, siblingsP99Us: 0, samples: 0, degraded: st.degraded });
    }
    return out.sort((a, b) => (a.level < b.level ? -1 : a.level > b.level ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  degraded(): DomainRef[] {
    const out: DomainRef[] = [];
    for (const st of this.states.values()) if (st.degraded) out.push(st.ref);
    return out;
  }
}
