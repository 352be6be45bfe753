/**
 * A run's figures (report.ts SimRun) from the engine's outcomes, pure. Every number is rounded
 * (seconds to 3 decimals, shares to 4) and every list is in a fixed order, so the JSON is
 * byte-identical for the same inputs.
 *
 * - JCT: end − submit; queueing delay: start − submit (jobs that never fit are left out).
 * - Occupancy: GPU-time held / (GPUs × makespan), makespan from the first submit to the last end.
 * - Fragmentation: a free GPU is stranded when it cannot be part of a typical gang (the trace's
 *   median multi-GPU gang, ranks of g GPUs on n nodes): the free GPUs beyond whole multiples of g
 *   on each node, or every free GPU when fewer than n ranks of g fit in all. Time-weighted mean of
 *   stranded / free over the makespan (moments with no free GPU left out).
 * - Locality: a gang (more than one GPU) is in its minimal domain when its placement's level is no
 *   coarser than the level it gets on the empty cluster; crossings: gangs spanning more than one
 *   domain of a level.
 * - Fairness: finish-time fairness JCT / run time alone (the trace's duration), per queue and per user.
 */
import { GANG_SIZE_BUCKETS, gangSizeBucket, type Distribution, type FairnessEntry, type GangSizeBucket, type OccupancySample, type QueueDelayBucket, type SimRun } from './report.js';
import type { EngineResult, JobOutcome } from './engine.js';
import type { TraceJob } from './trace.js';

export const round = (x: number, d = 3): number => {
  const f = 10 ** d;
  const r = Math.round(x * f) / f;
  return Object.is(r, -0) ? 0 : r;
};

/** Nearest-rank percentile of sorted values. */
function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function distribution(values: readonly number[]): Distribution {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : 0;
  return { n: s.length, meanS: round(mean), p50S: round(pct(s, 50)), p99S: round(pct(s, 99)) };
}

/** At most 100 points [value, share ≤ value], ascending; one point per distinct value. */
export function cdf(values: readonly number[]): Array<[number, number]> {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  const out: Array<[number, number]> = [];
  const steps = Math.min(100, n);
  for (let k = 1; k <= steps; k++) {
    const idx = Math.ceil((k / steps) * n) - 1;
    // The share of values ≤ s[idx] (ties included).
    let last = idx;
    while (last + 1 < n && s[last + 1] === s[idx]) last++;
    const point: [number, number] = [round(s[idx]!), round((last + 1) / n, 4)];
    const prev = out[out.length - 1];
    if (prev && prev[0] === point[0]) out[out.length - 1] = point;
    else out.push(point);
  }
  return out;
}

/** The trace's median multi-GPU gang as ranks of g GPUs on n nodes ({1, 1} when every job has one GPU). */
export function typicalGang(jobs: readonly TraceJob[], perNode: number, shape: (gpus: number, perNode: number) => { ranks: number; gpusPerRank: number }): { nodes: number; gpusPerNode: number } {
  const multi = jobs.filter((j) => j.gpus > 1).map((j) => j.gpus).sort((a, b) => a - b);
  if (multi.length === 0) return { nodes: 1, gpusPerNode: 1 };
  const g = shape(multi[Math.floor((multi.length - 1) / 2)]!, perNode);
  return { nodes: g.ranks, gpusPerNode: g.gpusPerRank };
}

export interface RunLabels {
  policy: string;
  load: number | null;
  localityPenalty: number;
  typical: { nodes: number; gpusPerNode: number };
  hasQueue: boolean;
  hasUser: boolean;
}

const SAMPLES = 500;

export function runFigures(r: EngineResult, labels: RunLabels): SimRun {
  const tree = r.tree;
  const ran = r.outcomes.filter((o) => o.fits && o.endMs >= 0);
  const rejected = r.outcomes.filter((o) => !o.fits).length;
  const s = (ms: number): number => ms / 1000;
  const jct = ran.map((o) => s(o.endMs) - o.trace.submitS);
  const delay = ran.map((o) => Math.max(0, s(o.startMs) - o.trace.submitS));
  const byBucket = new Map<GangSizeBucket, number[]>();
  ran.forEach((o, i) => {
    const b = gangSizeBucket(o.trace.gpus);
    const list = byBucket.get(b) ?? [];
    list.push(delay[i]!);
    byBucket.set(b, list);
  });
  const queueDelayByGangSize: QueueDelayBucket[] = GANG_SIZE_BUCKETS.filter((b) => byBucket.has(b)).map((b) => ({ bucket: b, ...distribution(byBucket.get(b)!), cdf: cdf(byBucket.get(b)!) }));
  const first = ran.reduce((a, o) => Math.min(a, o.trace.submitS), Infinity);
  const lastEnd = ran.reduce((a, o) => Math.max(a, s(o.endMs)), 0);
  const makespanS = ran.length ? Math.max(0, lastEnd - first) : 0;
  const gpuTime = ran.reduce((a, o) => a + o.trace.gpus * (s(o.endMs) - s(o.startMs)), 0);
  const occupancy = makespanS > 0 ? gpuTime / (tree.totalGpus * makespanS) : 0;

  // Series: the change points sampled at SAMPLES evenly spaced moments; stranded share time-weighted.
  const pts = r.points;
  const series: OccupancySample[] = [];
  let weighted = 0;
  let weight = 0;
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i]!;
    const until = i + 1 < pts.length ? pts[i + 1]!.tMs : p.tMs;
    const dt = until - p.tMs;
    if (p.free > 0 && dt > 0) {
      weighted += (p.stranded / p.free) * dt;
      weight += dt;
    }
  }
  const endMs = pts.length ? pts[pts.length - 1]!.tMs : 0;
  const n = Math.min(SAMPLES, pts.length);
  let j = 0;
  for (let k = 0; k < n; k++) {
    const t = n === 1 ? 0 : (endMs * k) / (n - 1);
    while (j + 1 < pts.length && pts[j + 1]!.tMs <= t) j++;
    const p = pts[j]!;
    series.push({ tS: round(t / 1000), busyGpus: p.busy, strandedGpus: p.stranded, pendingJobs: p.pending });
  }

  const gangs = ran.filter((o) => o.trace.gpus > 1);
  const crossingsByLevel: Record<string, number> = {};
  for (let l = 1; l < tree.top; l++) crossingsByLevel[tree.levels[l]!] = 0;
  for (const o of gangs) for (const name of o.crossed) crossingsByLevel[name] = (crossingsByLevel[name] ?? 0) + 1;
  const minimalDomainShare = gangs.length ? gangs.filter((o) => o.extraLevels === 0).length / gangs.length : 1;

  const fairness: FairnessEntry[] = [];
  const group = (kind: 'queue' | 'user', key: (o: JobOutcome) => string | undefined): void => {
    const m = new Map<string, number[]>();
    ran.forEach((o, i) => {
      const k = key(o);
      if (k === undefined) return;
      const list = m.get(k) ?? [];
      list.push(jct[i]! / o.trace.durationS);
      m.set(k, list);
    });
    for (const k of [...m.keys()].sort()) {
      const v = m.get(k)!;
      fairness.push({ kind, key: k, jobs: v.length, ftfMean: round(v.reduce((a, b) => a + b, 0) / v.length, 4), ftfMax: round(v.reduce((a, b) => Math.max(a, b), 0), 4) });
    }
  };
  if (labels.hasQueue) group('queue', (o) => o.trace.queue);
  if (labels.hasUser) group('user', (o) => o.trace.user);

  const hl = r.heatLevel;
  const rowLevel = Math.min(hl + 1, tree.top);
  const cells = Array.from({ length: tree.domainCount[hl] ?? 0 }, (_, d) => {
    const firstNode = hl === 0 ? d : tree.nodeStart[hl]![d]!;
    let totalGpus = 0;
    const to = hl === 0 ? d + 1 : tree.nodeEnd[hl]![d]!;
    for (let nn = firstNode; nn < to; nn++) totalGpus += tree.gpuCount[nn]!;
    return { domain: tree.names[hl]![d]!, row: tree.names[rowLevel]![tree.ancestor[rowLevel]![firstNode]!]!, usedGpus: r.peak.usedByDomain[d] ?? 0, totalGpus };
  });

  return {
    policy: labels.policy,
    load: labels.load,
    localityPenalty: labels.localityPenalty,
    jobs: r.outcomes.length,
    completed: ran.length,
    rejected,
    jct: distribution(jct),
    queueDelay: distribution(delay),
    queueDelayByGangSize,
    makespanS: round(makespanS),
    occupancy: round(occupancy, 4),
    series,
    fragmentation: { typicalGang: labels.typical, meanStrandedShare: round(weight > 0 ? weighted / weight : 0, 4) },
    locality: { minimalDomainShare: round(minimalDomainShare, 4), crossingsByLevel },
    fairness,
    heat: { tS: round(r.peak.tMs / 1000), level: tree.levels[hl]!, rowLevel: tree.levels[rowLevel]!, cells },
  };
}
