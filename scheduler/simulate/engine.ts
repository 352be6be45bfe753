/**
 * The simulator's event loop, pure: a trace replayed in virtual time through the scheduler's own
 * modules, not copies: job records made and changed by the lifecycle (jobs/lifecycle.ts submitted
 * and step), every scheduling decision by the cycle planner (jobs/planner.ts planCycle, which runs
 * the queue policy's AdmissionOrder and the placement engine's placeJob, EASY backfill included).
 *
 * The loop stands in for the job manager's shell (jobs/cycle.ts Cycles.plan and manager.ts commit)
 * and for the agents: at each virtual instant it takes every arrival and job end due (an agent twin
 * reports every rank of a placed gang running at once, and exited 0 at its end), then runs one
 * cycle, as the live scheduler runs a cycle on submit and on a gang's end. What it keeps of the
 * shell, the same way: a pending job that failed at this capacity generation is not tried again
 * until a gang starts or ends (Cycles.capacityGen, passed as `unchanged`), the head job's
 * reservation decision is reused while nothing changed (`previous`), MASTER_PORTs are reserved
 * per node. Two differences, for speed: the cluster snapshot is kept across cycles (reserved at a
 * start, released at an end: the same free GPUs the live cycle rebuilds from the records), and the
 * queues' decayed usage is kept incrementally (UsageTracker) instead of summed over every job.
 *
 * The locality wait (a policy's `localityWait`, placement.localityWait) as the job manager's cycle
 * keeps it: a LocalityClock (jobs/locality-wait.ts) across cycles, its `input()` passed to
 * planCycle, a change of holds counted as a capacity change, and a gang waiting for its minimal
 * domain never "unchanged". Where the live scheduler's timer-driven cycle (jobs.cycleIntervalMs)
 * starts a gang within one interval of its deadline, the engine runs a cycle at the deadline.
 *
 * No clock is read: `clock` (real milliseconds, the CLI's performance.now) is optional and used
 * only for decision time. Nothing random.
 *
 * About 475 lines, over the usual 400: one event loop (arrivals, ends, cycles, locality-wait
 * deadlines) and the incremental state it keeps so a cycle is as cheap as the live one's.
 */
import type { JobRecord, RankRecord } from '../../shared/domain/index.js';
import { validateJobSpec, type JobSpec } from '../../shared/jobspec/index.js';
import { step, submitted, type LifecycleContext } from '../jobs/lifecycle.js';
import { LocalityClock } from '../jobs/locality-wait.js';
import { DEFAULT_QUEUE_DEPTH_JOBS, planCycle, type ReservationDecision } from '../jobs/planner.js';
import { place } from '../placement/index.js';
import { DEFAULT_QUEUE, type QueueConfig } from '../queue/index.js';
import { buildTopology, ClusterSnapshot, type TopologyTree } from '../topology/index.js';
import type { SimCluster } from './clusters.js';
import { gangShape } from './load.js';
import type { Policy } from './policies.js';
import type { TraceJob } from './trace.js';
import { UsageTracker } from './usage.js';

export interface SimInput {
  cluster: SimCluster;
  /** Built from `cluster` when absent (pass one to share it between runs). */
  tree?: TopologyTree;
  /** Sorted by submit time (parseTrace, scaleArrivals). */
  jobs: readonly TraceJob[];
  policy: Policy;
  localityPenalty: number;
  /** Real milliseconds, for decision time (absent: none measured). */
  clock?: () => number;
  /** Called every so often with jobs finished (or rejected) so far. */
  onProgress?: (done: number, total: number) => void;
  /** Keep each start's placement (the faithfulness test compares them). */
  recordStarts?: boolean;
  /** Whether trace queues are the jobs' scheduling queues (Trace.queuesScheduled); else all go to the default queue. */
  queuesScheduled?: boolean;
  /** Pending jobs the planner looks at per cycle (the live jobs.queueDepthJobs; default its default, 0: all). */
  queueDepth?: number;
  /** The trace's median multi-GPU gang, for fragmentation (see typicalGang). */
  typical: { nodes: number; gpusPerNode: number };
}

export interface JobOutcome {
  trace: TraceJob;
  /** False: it could not fit the empty cluster (left out of every figure). */
  fits: boolean;
  startMs: number;
  endMs: number;
  /** Levels above the node the gang spans beyond its minimal level. */
  extraLevels: number;
  /** Configured levels (names) whose domains the gang spans more than one of. */
  crossed: string[];
}

export interface ChangePoint {
  tMs: number;
  busy: number;
  stranded: number;
  free: number;
  pending: number;
}

export interface StartRecord {
  job: string;
  tS: number;
  ranks: Array<{ node: string; gpus: number[] }>;
}

export interface EngineResult {
  tree: TopologyTree;
  outcomes: JobOutcome[];
  points: ChangePoint[];
  /** Used GPUs per domain of level `heatLevel` at the first moment of peak busy GPUs. */
  peak: { tMs: number; busy: number; usedByDomain: number[] };
  heatLevel: number;
  /** Real µs of decision per started job (empty without a clock). */
  decisionUs: number[];
  wallMs: number;
  starts?: StartRecord[];
}

const HALF_LIFE_MS = 24 * 3600 * 1000;
const PORTS = { min: 29500, max: 29999 };
const CTX = { requeueInitialMs: 2000, requeueMaxMs: 60_000 };
const NO_VICTIMS: ReadonlySet<string> = new Set();

/** A binary min-heap of job ends by (time, sequence). */
class Ends {
  private readonly heap: Array<{ t: number; seq: number; id: string }> = [];
  private seq = 0;
  get size(): number {
    return this.heap.length;
  }
  peek(): number {
    return this.heap[0]?.t ?? Infinity;
  }
  push(t: number, id: string): void {
    const h = this.heap;
    h.push({ t, seq: this.seq++, id });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): string {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top.id;
  }
}
const less = (a: { t: number; seq: number }, b: { t: number; seq: number }): boolean => a.t < b.t || (a.t === b.t && a.seq < b.seq);

/** The lowest level whose one domain holds every node, and the configured levels spanned by more than one domain. */
export function spanOf(tree: TopologyTree, nodeIds: readonly number[]): { level: number; crossed: string[] } {
  const crossed: string[] = [];
  let level = 0;
  for (let l = 0; l <= tree.top; l++) {
    const anc = tree.ancestor[l]!;
    const first = anc[nodeIds[0]!]!;
    const one = nodeIds.every((n) => anc[n] === first);
    if (!one) {
      level = l + 1;
      if (l >= 1 && l < tree.top) crossed.push(tree.levels[l]!);
    }
  }
  return { level: Math.min(level, tree.top), crossed };
}

/** The rank records of placed GPUs (as the scheduler's ranksOf makes them; no GPU UUIDs here). */
function rankRecords(tree: TopologyTree, units: ReadonlyArray<ReadonlyArray<{ nodeId: number; gpus: readonly number[] }>>): RankRecord[] {
  const out: RankRecord[] = [];
  units.forEach((ranks, unit) => {
    for (const r of ranks) {
      out.push({ rank: out.length, unit, node: tree.nodeName(r.nodeId), gpus: [...r.gpus], gpuUuids: r.gpus.map(() => ''), topologyAddress: tree.topologyAddress(r.nodeId), state: 'starting', exitCode: null, signal: null });
    }
  });
  return out;
}

/** First fit: ranks on the first nodes in tree order with room, lowest free GPU indices; null when the gang does not fit now. */
function firstFit(snapshot: ClusterSnapshot, ranks: number, perRank: number): Array<{ nodeId: number; gpus: number[] }> | null {
  const tree = snapshot.tree;
  const out: Array<{ nodeId: number; gpus: number[] }> = [];
  for (let n = 0; n < tree.nodeCount && out.length < ranks; n++) {
    if (snapshot.unusable[n] !== null || (snapshot.nodeFree[n] as number) < perRank) continue;
    const free = snapshot.freeGpus(n);
    for (let k = 0; k + perRank <= free.length && out.length < ranks; k += perRank) out.push({ nodeId: n, gpus: free.slice(k, k + perRank) });
  }
  return out.length === ranks ? out : null;
}

export function simulate(input: SimInput): EngineResult {
  const t0 = input.clock?.() ?? 0;
  const tree = input.tree ?? buildTopology(input.cluster.levels, input.cluster.nodes);
  const snapshot = ClusterSnapshot.create(tree);
  const empty = ClusterSnapshot.create(tree);
  const total = tree.totalGpus;
  const perNode = tree.maxGpusPerNode;
  const policy = input.policy;
  const penalty = input.localityPenalty;
  const slowest = 1 + penalty * Math.max(0, tree.top - 1);

  // Per gang shape: its spec's topology, and its minimal level on the empty cluster (-1: never fits).
  const minimal = new Map<string, number>();
  const specs = new Map<string, JobSpec>();
  const minimalLevel = (ranks: number, gpusPerRank: number): number => {
    const key = `${ranks}x${gpusPerRank}`;
    let l = minimal.get(key);
    if (l === undefined) {
      const r = gpusPerRank <= perNode ? place(empty, { ranks, gpusPerRank, mode: 'pack' }, { explain: false }) : null;
      l = r?.fits ? tree.levelIndex(r.placement.level) : -1;
      minimal.set(key, l);
    }
    return l;
  };
  const specOf = (t: TraceJob, ranks: number, gpusPerRank: number): JobSpec => {
    const limit = Math.max(1, Math.ceil(t.durationS * slowest) + 1);
    const queue = input.queuesScheduled ? t.queue : undefined;
    const key = `${ranks}x${gpusPerRank}/${queue ?? ''}/${limit}`;
    let s = specs.get(key);
    if (!s) {
      s = validateJobSpec({ kind: 'Training', name: 'job', ranks, gpusPerRank, topology: policy.topology(tree, { ranks, gpusPerRank }), command: ['true'], timeLimit: limit, ...(queue ? { queue } : {}) });
      if (specs.size > 100_000) specs.clear();
      specs.set(key, s);
    }
    return s;
  };

  const outcomes: JobOutcome[] = input.jobs.map((trace) => ({ trace, fits: true, startMs: -1, endMs: -1, extraLevels: 0, crossed: [] }));
  const byId = new Map<string, { outcome: JobOutcome; minLevel: number }>();
  const pending = new Map<string, JobRecord>();
  const active = new Map<string, JobRecord>();
  const triedAt = new Map<string, number>();
  const ports = new Map<string, Set<number>>();
  const usage = new UsageTracker(HALF_LIFE_MS);
  // GPUs held per queue by active jobs (the planner's `allocated`), kept at each start and end.
  const allocated = new Map<string, number>();
  const allocate = (queue: string, gpus: number): void => void allocated.set(queue, (allocated.get(queue) ?? 0) + gpus);
  const ends = new Ends();
  // Cycles due at locality-wait deadlines (the live timer-driven cycle); ids unused.
  const wakes = new Ends();
  const locality = new LocalityClock(policy.localityWait);
  const queues = (_: string): QueueConfig => DEFAULT_QUEUE;
  let gen = 0;
  let lastDecision: { gen: number; decision: ReservationDecision | null } | undefined;
  let seq = 0;
  let done = 0;
  let busy = 0;
  const points: ChangePoint[] = [];
  const heatLevel = Math.min(1, tree.top);
  let peak = { tMs: 0, busy: -1, usedByDomain: [] as number[] };
  const decisionUs: number[] = [];
  const starts: StartRecord[] | undefined = input.recordStarts ? [] : undefined;
  const progressEvery = Math.max(1, Math.floor(input.jobs.length / 200));
  const progress = (): void => {
    done++;
    if (input.onProgress && (done % progressEvery === 0 || done === input.jobs.length)) input.onProgress(done, input.jobs.length);
  };

  const domainGpus = new Int32Array(tree.domainCount[heatLevel] ?? 1);
  for (let n = 0; n < tree.nodeCount; n++) domainGpus[tree.ancestor[heatLevel]![n]!]! += tree.gpuCount[n]!;

  const sample = (tMs: number): void => {
    let stranded = 0;
    let free = 0;
    let slots = 0;
    const g = input.typical.gpusPerNode;
    for (let n = 0; n < tree.nodeCount; n++) {
      const f = snapshot.nodeFree[n] as number;
      free += f;
      slots += Math.floor(f / g);
      stranded += f % g;
    }
    if (slots < input.typical.nodes) stranded = free;
    const p = { tMs, busy, stranded, free, pending: pending.size };
    const last = points[points.length - 1];
    if (last && last.tMs === tMs) points[points.length - 1] = p;
    else points.push(p);
    if (busy > peak.busy) {
      const freeDom = snapshot.domainFree[heatLevel]!;
      peak = { tMs, busy, usedByDomain: Array.from(domainGpus, (gp, d) => gp - (freeDom[d] as number)) };
    }
  };

  /** A gang placed on these GPUs at `now`: lifecycle placed, every rank reported running, its end scheduled. */
  const started = (job: JobRecord, units: ReadonlyArray<ReadonlyArray<{ nodeId: number; gpus: readonly number[] }>>, ctx: LifecycleContext, masterPorts: readonly number[] = []): void => {
    const ranks = rankRecords(tree, units);
    // Each unit's MASTER_PORT, as the live cycle sets it (the plan reserved it in `ports` already).
    for (const r of ranks) r.masterPort = masterPorts[r.unit] ?? 0;
    let rec = step(job, { type: 'placed', ranks, replicas: units.length }, ctx).job;
    for (const r of rec.ranks) rec = step(rec, { type: 'rank-reported', node: r.node, report: { rank: r.rank, epoch: rec.epoch, state: 'running', exitCode: null, signal: null, message: '' } }, ctx).job;
    pending.delete(job.id);
    triedAt.delete(job.id);
    active.set(job.id, rec);
    gen++;
    const gpus = ranks.reduce((a, r) => a + r.gpus.length, 0);
    busy += gpus;
    allocate(rec.spec.queue, gpus);
    const { outcome, minLevel } = byId.get(job.id)!;
    const span = spanOf(tree, ranks.map((r) => tree.nodeId(r.node)));
    outcome.startMs = ctx.nowMs;
    outcome.extraLevels = Math.max(0, span.level - minLevel);
    outcome.crossed = span.crossed;
    const runMs = Math.max(1, Math.round(outcome.trace.durationS * 1000 * (1 + penalty * outcome.extraLevels)));
    ends.push(ctx.nowMs + runMs, job.id);
    starts?.push({ job: job.id, tS: ctx.nowMs / 1000, ranks: ranks.map((r) => ({ node: r.node, gpus: r.gpus })) });
  };

  const ended = (id: string, ctx: LifecycleContext): void => {
    let rec = active.get(id)!;
    for (const r of rec.ranks) rec = step(rec, { type: 'rank-reported', node: r.node, report: { rank: r.rank, epoch: rec.epoch, state: 'exited', exitCode: 0, signal: null, message: '' } }, ctx).job;
    if (rec.state !== 'succeeded') throw new Error(`simulator: job ${id} is ${rec.state} after every rank exited 0`);
    active.delete(id);
    gen++;
    const claim = { ranks: rec.ranks.map((r) => ({ nodeId: tree.nodeId(r.node), gpus: r.gpus })) };
    snapshot.release(claim);
    const gpus = rec.ranks.reduce((a, r) => a + r.gpus.length, 0);
    busy -= gpus;
    allocate(rec.spec.queue, -gpus);
    usage.ended(rec.spec.queue, gpus, rec.startedMs, ctx.nowMs);
    const seen = new Set<number>();
    for (const r of rec.ranks) {
      if (seen.has(r.unit)) continue;
      seen.add(r.unit);
      const port = r.masterPort ?? rec.masterPort;
      if (port) ports.get(r.node)?.delete(port);
    }
    byId.get(id)!.outcome.endMs = ctx.nowMs;
    progress();
  };

  /**
   * The pending jobs the queue depth can reach: each queue's first `depth` by submission (the
   * admission order within a queue, every job's priority being equal), and those submitted at the
   * same moment as the last (ids break that tie). Copying and sorting a backlog of thousands on
   * every cycle was most of a run at load 0.9 and above; the plan is the same.
   */
  const depth = input.queueDepth ?? DEFAULT_QUEUE_DEPTH_JOBS;
  const reachable = (): JobRecord[] => {
    if (depth <= 0 || pending.size <= depth) return [...pending.values()];
    const out: JobRecord[] = [];
    if (!input.queuesScheduled) {
      // One queue: the first `depth`, and those submitted at the same moment as the last.
      let lastMs = NaN;
      for (const j of pending.values()) {
        if (out.length >= depth && j.submittedMs !== lastMs) break;
        out.push(j);
        lastMs = j.submittedMs;
      }
      return out;
    }
    const taken = new Map<string, { n: number; lastMs: number }>();
    let open = 0;
    for (const j of pending.values()) {
      const t = taken.get(j.spec.queue);
      if (t && t.n >= depth && j.submittedMs !== t.lastMs) {
        if (open === 0 && !input.queuesScheduled) break;
        continue;
      }
      if (!t) {
        taken.set(j.spec.queue, { n: 1, lastMs: j.submittedMs });
        open++;
      } else {
        if (++t.n === depth) open--;
        t.lastMs = j.submittedMs;
      }
      out.push(j);
    }
    return out;
  };

  // The active jobs as a list, made again only after a start or an end (an arrival's cycle reuses it).
  let activeCache: { gen: number; list: JobRecord[] } | null = null;
  const activeList = (): JobRecord[] => {
    if (activeCache?.gen !== gen) activeCache = { gen, list: [...active.values()] };
    return activeCache.list;
  };

  const plannerCycle = (ctx: LifecycleContext): void => {
    const now = ctx.nowMs;
    const plan = planCycle({
      nowMs: now,
      tree,
      snapshot,
      pending: reachable(),
      pendingCount: pending.size,
      active: activeList(),
      awaitingVictims: NO_VICTIMS,
      queues,
      usage: usage.at(now, active.values()),
      halfLifeMs: HALF_LIFE_MS,
      masterPorts: { range: PORTS, reserved: ports },
      unchanged: (job) => triedAt.get(job.id) === gen,
      previous: lastDecision?.gen === gen ? lastDecision.decision : null,
      localityWait: locality.input(),
      queueDepth: input.queueDepth ?? DEFAULT_QUEUE_DEPTH_JOBS,
      allocated,
      explain: false,
      recordSkipped: false,
    });
    lastDecision = { gen, decision: plan.decision };
    if (locality.after(plan, (id) => pending.has(id))) gen++;
    for (const w of plan.localityWaits) if (w.untilMs > now) wakes.push(w.untilMs, w.jobId);
    if (plan.preemptions.length > 0) throw new Error('simulator: a preemption was planned; queues and priorities are not simulated');
    for (const { job, message } of plan.failures) throw new Error(`simulator: job ${job.id} cannot be placed: ${message}`);
    const g = gen;
    // Every job in waiting was tried (recordSkipped: false). forEach, not entries: no [id, waiting]
    // pair made per pending job per cycle.
    plan.waiting.forEach((_, id) => {
      if (locality.waiting(id)) triedAt.delete(id);
      else triedAt.set(id, g);
    });
    for (const s of plan.starts) started(s.job, s.placements.map((p) => p.ranks), ctx, s.masterPorts);
  };

  const firstFitCycle = (ctx: LifecycleContext): void => {
    // Shapes that failed this cycle: a gang at least as large in both (ranks, GPUs per rank) fails
    // too (any placement of it holds one of the smaller), and once one GPU fails no job can fit.
    const failed: Array<{ ranks: number; perRank: number }> = [];
    const dominated = (ranks: number, perRank: number): boolean => failed.some((f) => f.ranks <= ranks && f.perRank <= perRank);
    for (const job of [...pending.values()]) {
      if (triedAt.get(job.id) === gen) continue;
      const { ranks, gpusPerRank } = job.spec;
      const known = dominated(ranks, gpusPerRank);
      const claim = known || (snapshot.domainFree[tree.top]![0] as number) < ranks * gpusPerRank ? null : firstFit(snapshot, ranks, gpusPerRank);
      if (!claim) {
        if (!known) failed.push({ ranks, perRank: gpusPerRank });
        triedAt.set(job.id, gen);
        // Nothing fits: the jobs not looked at are not marked, and are looked at in the next cycle.
        if (ranks === 1 && gpusPerRank === 1) break;
        continue;
      }
      snapshot.reserve({ ranks: claim });
      started(job, [claim], ctx);
    }
  };

  const jobs = input.jobs;
  let next = 0;
  while (next < jobs.length || ends.size > 0 || (wakes.size > 0 && pending.size > 0)) {
    const tMs = Math.min(next < jobs.length ? Math.round(jobs[next]!.submitS * 1000) : Infinity, ends.peek(), pending.size > 0 ? wakes.peek() : Infinity);
    while (wakes.size > 0 && wakes.peek() <= tMs) wakes.pop();
    const ctx: LifecycleContext = { nowMs: tMs, ...CTX };
    while (ends.size > 0 && ends.peek() === tMs) ended(ends.pop(), ctx);
    while (next < jobs.length && Math.round(jobs[next]!.submitS * 1000) === tMs) {
      const t = jobs[next]!;
      const outcome = outcomes[next]!;
      next++;
      const { ranks, gpusPerRank } = gangShape(t.gpus, t.gpusPerNode ?? perNode);
      const minLevel = minimalLevel(ranks, gpusPerRank);
      if (minLevel < 0) {
        outcome.fits = false;
        progress();
        continue;
      }
      const rec = submitted(`job-${++seq}`, specOf(t, ranks, gpusPerRank), t.user ?? 'sim', tMs).job;
      pending.set(rec.id, rec);
      usage.noteQueue(rec.spec.queue);
      byId.set(rec.id, { outcome, minLevel });
    }
    if (pending.size > 0) {
      const c0 = input.clock?.();
      const before = active.size + done;
      if (policy.cycle === 'first-fit') firstFitCycle(ctx);
      else plannerCycle(ctx);
      if (c0 !== undefined) {
        const n = active.size + done - before;
        const us = ((input.clock!() - c0) * 1000) / Math.max(1, n);
        for (let i = 0; i < n; i++) decisionUs.push(us);
      }
    }
    sample(tMs);
  }
  return { tree, outcomes, points, peak, heatLevel, decisionUs, wallMs: (input.clock?.() ?? 0) - t0, ...(starts ? { starts } : {}) };
}
