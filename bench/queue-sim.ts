/**
 * The batch queue of scenario (c): all jobs submitted at t=0, FIFO with EASY backfill, every
 * placement through the product's path (a job spec, requestFromJobSpec, placeJob, which reserves
 * what it places). Virtual time; engine time measured around each placeJob call.
 */
import { performance } from 'node:perf_hooks';
import { LOCALITY_WAIT_OFF, localityDeadlineMs, type LocalityWaitPolicy } from '../scheduler/jobs/locality-wait.js';
import { placeJob, requestFromJobSpec, type Placement } from '../scheduler/placement/index.js';
import type { ClusterSnapshot } from '../scheduler/topology/index.js';
import type { JobSpec } from '../shared/jobspec/index.js';
import type { BenchCluster } from './clusters.js';

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

export interface MixJob {
  id: number;
  nodes: number;
  slice: number;
  duration: number;
}

export interface SimResult {
  occupancy: number;
  makespan: number;
  queueEmptyAt: number;
  inMinimal: number;
  started: number;
  placeCalls: number;
  engineMs: number;
  meanWait: number;
  meanWaitBySlice: Record<string, number>;
  /** p99 of the time from t=0 to each job's start. */
  p99Wait: number;
  /** Locality wait: gangs that waited for their minimal domain at least once, and the holds taken. */
  localityWaited: number;
  localityHolds: number;
}

/**
 * Scenario (c)'s locality-wait variants (placement.localityWait), times in the mix's units (1 unit
 * = 1 s = 1000 ms of config); no cap unless named (the cap counts from t=0 in this batch).
 */
export const LOCALITY_VARIANTS: ReadonlyArray<[string, string, LocalityWaitPolicy]> = (
  [
    ['localityWait bounded 20', 'waits up to 20 units for its minimal domain, holding nothing, then spreads', { mode: 'bounded', maxWaitMs: 20 }],
    ['localityWait bounded 60', 'waits up to 60 units, holding nothing', { mode: 'bounded', maxWaitMs: 60 }],
    ['localityWait bounded, aging 0.25/GPU', 'bound = 0.25 units per GPU (16 GPUs: 4; 512 GPUs: 128)', { mode: 'bounded', maxWaitMs: 0, agingPerGpuMs: 0.25 }],
    ['localityWait reserve 60', 'waits up to 60 units holding the minimal domain that frees soonest', { mode: 'reserve', maxWaitMs: 60 }],
    ['localityWait reserve 200', 'waits up to 200 units holding the minimal domain that frees soonest', { mode: 'reserve', maxWaitMs: 200 }],
    ['localityWait reserve 200, cap 100', 'as reserve 200; no wait past 100 units after submit (t=0 here)', { mode: 'reserve', maxWaitMs: 200, capMs: 100 }],
    // gantry simulate's wait-reserve-by-size-cap-4h (issue 22's NVL72 trade-off; 1 unit = 60 s of its mix).
    [
      'localityWait reserve by size, cap 4 h',
      'reserve; bound = 426.7 units − 1.667 per GPU (25,600 s − 100 s per GPU at 60 s a unit: 256 GPUs and more never wait); no wait past 240 units after submit (t=0 here)',
      { mode: 'reserve', maxWaitMs: 25_600 / 60, agingPerGpuMs: -100 / 60, capMs: 240 },
    ],
  ] as Array<[string, string, Partial<LocalityWaitPolicy>]>
).map(([label, meaning, v]) => [label, meaning, { ...LOCALITY_WAIT_OFF, capMs: Number.MAX_SAFE_INTEGER, ...v }]);

/**
 * The live planner's locality wait (scheduler/jobs/locality-wait.ts) in the batch queue: its own
 * deadline rule (localityDeadlineMs), in the simulation's time units. `required`: the job's spec
 * asking for exactly its minimal level (what a reserve's replay places).
 */
export interface QueueLocality {
  policy: LocalityWaitPolicy;
  required: (j: MixJob) => JobSpec;
}

/**
 * A batch queue on the engine: all jobs submitted at t=0, FIFO with EASY backfill. The
 * blocked head job gets a reservation: releases are replayed on a copy of the snapshot
 * in end-time order until the head fits, which gives its start time and nodes; a later
 * job may start now if it fits and either ends by then or keeps off those nodes.
 */
export function simulateQueue(c: BenchCluster, jobs: readonly MixJob[], gangOf: (j: MixJob, now: number) => JobSpec, minimal: (j: MixJob) => number, locality?: QueueLocality): SimResult {
  const snap = c.fresh();
  const tree = c.tree;
  const queue = [...jobs];
  const running: { end: number; p: Placement; job: MixJob }[] = [];
  let now = 0;
  let busyGpuTime = 0;
  let queueEmptyAt = 0;
  let inMinimal = 0;
  let started = 0;
  let placeCalls = 0;
  let engineMs = 0;
  let waitSum = 0;
  const waitBy = new Map<number, { sum: number; n: number }>();
  const waits: number[] = [];
  // Locality wait: when each waiting job's wait started, the holds of this pass (nodes, due time).
  const waitSince = new Map<number, number>();
  const everWaited = new Set<number>();
  let holdsTaken = 0;
  let holds: { due: number; nodes: number[] }[] = [];
  let nextWake = Infinity;
  const holdMasks = new Map<string, Uint8Array>();
  /** Nodes a job ending at `end` may use: all but those held for a gang due before it ends (null: all). */
  const holdMask = (end: number): Uint8Array | null => {
    const blocking: number[] = [];
    holds.forEach((h, x) => h.due < end && blocking.push(x));
    if (blocking.length === 0) return null;
    const key = blocking.join();
    let m = holdMasks.get(key);
    if (!m) {
      m = new Uint8Array(tree.nodeCount).fill(1);
      for (const x of blocking) for (const n of (holds[x] as { nodes: number[] }).nodes) m[n] = 0;
      holdMasks.set(key, m);
    }
    return m;
  };
  const and = (a: Uint8Array | undefined, b: Uint8Array | null): Uint8Array | undefined => {
    if (!b) return a;
    if (!a) return b;
    const m = new Uint8Array(a.length);
    for (let n = 0; n < a.length; n++) m[n] = (a[n] as number) & (b[n] as number);
    return m;
  };
  const window = Number(process.env.GANTRY_BENCH_WINDOW ?? 512);
  /** The job's one gang placed and reserved on `s` (placeJob reserves), or null. */
  const timed = (s: ClusterSnapshot, spec: JobSpec, mask?: Uint8Array): Placement | null => {
    const t0 = performance.now();
    const out = placeJob(s, requestFromJobSpec(spec), mask ? { nodeMask: mask, explain: false } : { explain: false });
    engineMs += performance.now() - t0;
    placeCalls++;
    return out.fits ? (out.placements[0] as Placement) : null;
  };
  /** Start a job whose placement is already reserved on the snapshot. */
  const start = (j: MixJob, p: Placement, idx: number): void => {
    started++;
    if (tree.levelIndex(p.level) <= minimal(j)) inMinimal++;
    running.push({ end: now + j.duration, p, job: j });
    waitSince.delete(j.id);
    waits.push(now);
    waitSum += now;
    const w = waitBy.get(j.slice) ?? { sum: 0, n: 0 };
    w.sum += now;
    w.n++;
    waitBy.set(j.slice, w);
    queue.splice(idx, 1);
  };
  const freeGpus = (s: ClusterSnapshot): number => (s.domainFree[tree.top] as Int32Array)[0] as number;
  /**
   * The locality rule for a job whose placement `p` (reserved on snap) lies above its minimal level:
   * true when it waits (p released; a reserve holds the minimal domain that frees soonest).
   */
  const waitsForLocality = (j: MixJob, p: Placement): boolean => {
    if (!locality || locality.policy.mode === 'off' || j.nodes * 4 <= 1 || tree.levelIndex(p.level) <= minimal(j)) return false;
    const since = waitSince.get(j.id) ?? now;
    const until = localityDeadlineMs(locality.policy, { waitSinceMs: since, pendingSinceMs: 0, gpus: j.nodes * 4, queuedJobs: queue.length - 1 });
    if (now >= until) return false;
    snap.release(p);
    if (locality.policy.mode === 'reserve') {
      // The minimal domain that frees soonest as running jobs end (every job here has a known end).
      const what = snap.clone();
      const order = [...running].sort((a, b) => a.end - b.end);
      let held = false;
      const lvl = minimal(j);
      const anc = tree.ancestor[lvl] as Int32Array;
      const free = what.domainFree[lvl] as Int32Array;
      const touched: number[] = [];
      for (let k = 0; k < order.length && !held; k++) {
        const r0 = order[k] as { end: number; p: Placement };
        if (r0.end > until) break;
        what.release(r0.p);
        for (const r of r0.p.ranks) touched.push(r.nodeId);
        if (k + 1 < order.length && (order[k + 1] as { end: number }).end === r0.end) continue;
        // Only a minimal domain these releases added to can newly hold the gang.
        const roomy = touched.some((n) => (free[anc[n] as number] as number) >= j.nodes * 4);
        touched.length = 0;
        if (!roomy) continue;
        const q = timed(what, locality.required(j), holdMask(Infinity) ?? undefined);
        if (q) {
          holds.push({ due: r0.end, nodes: q.ranks.map((r) => r.nodeId) });
          holdMasks.clear();
          holdsTaken++;
          held = true;
        }
      }
      if (!held) {
        // No minimal domain frees by its deadline: it spreads now.
        snap.reserve(p);
        return false;
      }
    }
    waitSince.set(j.id, since);
    everWaited.add(j.id);
    if (until < nextWake) nextWake = until;
    return true;
  };
  for (;;) {
    holds = [];
    holdMasks.clear();
    nextWake = Infinity;
    let i = 0;
    // Start jobs in order while they fit (a job waiting for its minimal domain is passed over).
    while (i < queue.length) {
      const j = queue[i] as MixJob;
      if (freeGpus(snap) < j.nodes * 4) break;
      const p = timed(snap, gangOf(j, now), holdMask(now + j.duration) ?? undefined);
      if (!p) break;
      if (waitsForLocality(j, p)) {
        i++;
        continue;
      }
      start(j, p, i);
    }
    if (i < queue.length && running.length) {
      // The head is blocked: its reservation.
      const head = queue[i] as MixJob;
      const what = snap.clone();
      const order = [...running].sort((a, b) => a.end - b.end);
      let shadow = Infinity;
      let reserved: Placement | null = null;
      for (let k = 0; k < order.length; k++) {
        const r0 = order[k] as { end: number; p: Placement };
        what.release(r0.p);
        if (k + 1 < order.length && (order[k + 1] as { end: number }).end === r0.end) continue;
        if (freeGpus(what) < head.nodes * 4) continue;
        const p = timed(what, gangOf(head, now));
        if (p) {
          shadow = r0.end;
          reserved = p;
          break;
        }
      }
      const avoid = new Uint8Array(tree.nodeCount).fill(1);
      const hole = new Uint8Array(tree.nodeCount);
      if (reserved) {
        for (const r of reserved.ranks) {
          avoid[r.nodeId] = 0;
          hole[r.nodeId] = 1;
        }
      }
      // Backfill behind the head; a shape that failed in this pass fails again (only starts happened since).
      const failed = new Set<string>();
      let k = i + 1;
      for (let seen = 0; k < queue.length && seen < window; seen++) {
        const j = queue[k] as MixJob;
        const short = now + j.duration <= shadow;
        const key = `${j.nodes}/${j.slice}/${short}`;
        if (freeGpus(snap) < j.nodes * 4 || failed.has(key)) {
          k++;
          continue;
        }
        // A job that ends before the head starts fills the reserved (draining) nodes first.
        const hm = holdMask(now + j.duration);
        let p = short && reserved ? timed(snap, gangOf(j, now), and(hole, hm)) : null;
        if (!p) p = short ? timed(snap, gangOf(j, now), hm ?? undefined) : timed(snap, gangOf(j, now), and(avoid, hm));
        if (p && waitsForLocality(j, p)) k++;
        else if (p) start(j, p, k);
        else {
          failed.add(key);
          k++;
        }
      }
    }
    if (queue.length === 0 && queueEmptyAt === 0) queueEmptyAt = now;
    if (running.length === 0) {
      if (queue.length) throw new Error(`queue stuck with ${queue.length} jobs on an empty cluster`);
      break;
    }
    let t = nextWake;
    for (const r of running) if (r.end < t) t = r.end;
    if (queue.length) busyGpuTime += (tree.totalGpus - freeGpus(snap)) * (t - now);
    now = t;
    for (let x = running.length - 1; x >= 0; x--) {
      if ((running[x] as { end: number }).end <= now) {
        snap.release((running[x] as { p: Placement }).p);
        running.splice(x, 1);
      }
    }
  }
  return {
    occupancy: busyGpuTime / (tree.totalGpus * queueEmptyAt),
    makespan: now,
    queueEmptyAt,
    inMinimal,
    started,
    placeCalls,
    engineMs: round(engineMs, 0),
    meanWait: round(waitSum / started, 1),
    meanWaitBySlice: Object.fromEntries([...waitBy].map(([k, v]) => [`slice${k}`, round(v.sum / v.n, 1)])),
    p99Wait: round([...waits].sort((a, b) => a - b)[Math.min(waits.length - 1, Math.floor(0.99 * waits.length))] ?? 0, 1),
    localityWaited: everWaited.size,
    localityHolds: holdsTaken,
  };
}
