/**
 * The batch queue of scenario (c): all jobs submitted at t=0, FIFO with EASY backfill, every
 * placement through the product's path (a job spec, requestFromJobSpec, placeJob, which reserves
 * what it places). Virtual time; engine time measured around each placeJob call.
 */
import { performance } from 'node:perf_hooks';
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
}

/**
 * A batch queue on the engine: all jobs submitted at t=0, FIFO with EASY backfill. The
 * blocked head job gets a reservation: releases are replayed on a copy of the snapshot
 * in end-time order until the head fits, which gives its start time and nodes; a later
 * job may start now if it fits and either ends by then or keeps off those nodes.
 */
export function simulateQueue(c: BenchCluster, jobs: readonly MixJob[], gangOf: (j: MixJob, now: number) => JobSpec, minimal: (j: MixJob) => number): SimResult {
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
    waitSum += now;
    const w = waitBy.get(j.slice) ?? { sum: 0, n: 0 };
    w.sum += now;
    w.n++;
    waitBy.set(j.slice, w);
    queue.splice(idx, 1);
  };
  const freeGpus = (s: ClusterSnapshot): number => (s.domainFree[tree.top] as Int32Array)[0] as number;
  for (;;) {
    let i = 0;
    // Start jobs in order while they fit.
    while (i < queue.length) {
      const j = queue[i] as MixJob;
      if (freeGpus(snap) < j.nodes * 4) break;
      const p = timed(snap, gangOf(j, now));
      if (!p) break;
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
        let p = short && reserved ? timed(snap, gangOf(j, now), hole) : null;
        if (!p) p = short ? timed(snap, gangOf(j, now)) : timed(snap, gangOf(j, now), avoid);
        if (p) start(j, p, k);
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
    let t = Infinity;
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
  };
}
