/**
 * Locality wait (issue 22, the NVL72 trade-off), pure: whether a Training gang that fits now, but
 * only above its minimal level, starts there (spreads) or waits for a domain of its minimal level.
 *
 * - Minimal level of a gang: the finest level one of whose domains could hold it on the EMPTY
 *   cluster (its request placed, packed, on an all-free snapshot of the tree); computed once per
 *   (request, tree) and cached per tree.
 * - Which gangs: Training jobs placed in `pack` mode (they name a preferred or required level) of
 *   more than one GPU. Topology-blind jobs (no level named), Inference replicas and Batch shards
 *   never wait for locality.
 * - Modes (`placement.localityWait.mode`):
 *   - `off`: today's behaviour: every gang starts at the lowest level that fits now.
 *   - `bounded`: a gang whose best placement now lies above its minimal level waits, holding
 *     nothing, until its bound has passed, then spreads.
 *   - `reserve`: as bounded, and the waiting gang holds the minimal domain that frees soonest by
 *     the running jobs' time limits (the EASY reservation's replay, what-if.ts futureStart): its
 *     free GPUs there are held, and a later job may use them only if its own time limit ends
 *     before that domain is due. A domain due only after the gang's deadline is not waited for:
 *     the gang spreads at once. With no time limits to go by (due at an unknown time) it waits,
 *     holding nothing, as in `bounded`.
 * - The bound (aging): maxWaitMs + agingPerGpuMs × the gang's GPUs − agingPerQueuedJobMs × the
 *   other pending jobs, never below 0: large gangs, which lose most by spreading and find a free
 *   domain last, may wait longer; a long queue, where idle GPUs cost most, shortens every wait.
 *   agingPerGpuMs may be negative: large gangs then wait less (on the NVL72 mix, their waits for
 *   a whole leaf are the queueing delay's tail; docs/simulate.md "The NVL72 trade-off").
 *   It counts from the first cycle that found the gang able to start above its minimal level (the
 *   job manager keeps that time in memory; a restarted or new leader starts counting again).
 * - The cap: no gang waits for locality past capMs after it became pending (its submit, or the
 *   end of its requeue backoff: both on the job record, so the cap survives a restart).
 * A gang spreads at min(waitSince + bound, pendingSince + cap); the timer-driven cycle
 * (jobs.cycleIntervalMs) starts it within one interval of that time.
 */
import type { JobRecord } from '../../shared/domain/index.js';
import { placeJob, releaseAll, type JobPlacementRequest, type Placement } from '../placement/index.js';
import { ClusterSnapshot, type GpuClaim, type TopologyTree } from '../topology/index.js';
import { freeSubset } from './what-if.js';

export type LocalityWaitMode = 'off' | 'bounded' | 'reserve';

export interface LocalityWaitPolicy {
  mode: LocalityWaitMode;
  /** The base bound on a gang's wait for its minimal domain. */
  maxWaitMs: number;
  /** The bound grows by this per GPU of the gang (negative: shrinks). */
  agingPerGpuMs: number;
  /** The bound shrinks by this per other pending job (never below 0). */
  agingPerQueuedJobMs: number;
  /** No gang waits for locality past this long after it became pending. */
  capMs: number;
}

/**
 * The defaults (placement.localityWait in scheduler/config.ts), decided by `gantry simulate`'s NVL72
 * trade-off (docs/simulate.md): `reserve`, bound 25,600 s − 100 s per GPU of the gang (gangs of
 * 256 GPUs and more spread at once), no wait past 4 h after it became pending: on scenario (c)'s mix
 * at load 0.9 it keeps all four targets at locality penalties 0 / 0.1 / 0.3 on seeds 1-6
 * (simulator policy wait-reserve-by-size-cap-4h, which is `gantry`'s).
 */
export const LOCALITY_WAIT_DEFAULTS: Readonly<LocalityWaitPolicy> = Object.freeze({
  mode: 'reserve',
  maxWaitMs: 25_600_000,
  agingPerGpuMs: -100_000,
  agingPerQueuedJobMs: 0,
  capMs: 14_400_000,
});

/** No locality wait: every gang starts at the lowest level that fits now (the default before issue 22 decided it). */
export const LOCALITY_WAIT_OFF: Readonly<LocalityWaitPolicy> = Object.freeze({
  mode: 'off',
  maxWaitMs: 300_000,
  agingPerGpuMs: 0,
  agingPerQueuedJobMs: 0,
  capMs: 3_600_000,
});

/** When a pending job became pending: its submit, or the end of its last requeue backoff. */
export function pendingSinceMs(job: Pick<JobRecord, 'submittedMs' | 'requeueAtMs'>): number {
  return Math.max(job.submittedMs, job.requeueAtMs);
}

/** A gang's bound (see the file's head), in ms, never below 0. */
export function localityBoundMs(p: LocalityWaitPolicy, gpus: number, queuedJobs: number): number {
  return Math.max(0, p.maxWaitMs + p.agingPerGpuMs * gpus - p.agingPerQueuedJobMs * queuedJobs);
}

/** The time a gang stops waiting and spreads: min(waitSince + bound, pendingSince + cap). */
export function localityDeadlineMs(p: LocalityWaitPolicy, w: { waitSinceMs: number; pendingSinceMs: number; gpus: number; queuedJobs: number }): number {
  return Math.min(w.waitSinceMs + localityBoundMs(p, w.gpus, w.queuedJobs), w.pendingSinceMs + p.capMs);
}

/** Whether the locality wait applies to this job's request at all (see the file's head). */
export function localityApplies(job: Pick<JobRecord, 'spec'>, request: JobPlacementRequest): boolean {
  return job.spec.kind === 'Training' && request.gang.mode === 'pack' && request.gang.ranks * request.gang.gpusPerRank > 1;
}

interface TreeCache {
  empty: ClusterSnapshot;
  levels: Map<string, number>;
}
const perTree = new WeakMap<TopologyTree, TreeCache>();

/**
 * The gang's minimal level index on this tree (0 = node), or -1 when it fits nowhere even on the
 * empty cluster. Cached per tree and request.
 */
export function minimalLevel(tree: TopologyTree, request: JobPlacementRequest): number {
  let cache = perTree.get(tree);
  if (!cache) {
    cache = { empty: ClusterSnapshot.create(tree), levels: new Map() };
    perTree.set(tree, cache);
  }
  const gang = request.gang;
  const key = JSON.stringify(gang);
  const hit = cache.levels.get(key);
  if (hit !== undefined) return hit;
  let level = -1;
  try {
    const out = placeJob(cache.empty, { kind: 'Training', gang, units: 1, minUnits: 1 }, { explain: false });
    if (out.fits && out.placements[0]) level = tree.levelIndex(out.placements[0].level);
    releaseAll(cache.empty, out.placements);
  } catch {
    level = -1;
  }
  cache.levels.set(key, level);
  return level;
}

/** The request asking for exactly the minimal level (required there, no preferred level). */
export function atMinimalLevel(tree: TopologyTree, request: JobPlacementRequest, level: number): JobPlacementRequest {
  const { preferred: _preferred, ...topology } = request.gang.topology ?? {};
  return { ...request, gang: { ...request.gang, topology: { ...topology, required: tree.levels[level] as string } } };
}

/** One gang waiting for its minimal domain, as the plan reports it (Cycles keeps `sinceMs`). */
export interface LocalityWaitEntry {
  jobId: string;
  /** When the wait started (the first cycle that found it able to start above its minimal level). */
  sinceMs: number;
  /** When it spreads if no minimal domain frees first. */
  untilMs: number;
  /** Its minimal level's name. */
  level: string;
  /** `reserve`: GPUs of the draining minimal domain held for it (0: none). */
  heldGpus: number;
  /** `reserve`: when that domain is due by the running jobs' time limits (null: nothing held). */
  dueMs: number | null;
}

/** A draining domain held for a waiting gang: later jobs may use it only if they end by `dueMs`. */
export interface LocalityHold {
  jobId: string;
  dueMs: number;
  claim: GpuClaim;
}

/** What the planner's locality rule says about a gang that fits now. */
export type LocalityVerdict =
  | { kind: 'start' }
  /** Wait; `reserve` asks the planner to look for a draining minimal domain due by `untilMs`. */
  | { kind: 'wait'; minimal: number; sinceMs: number; untilMs: number; reserve: boolean };

/**
 * The rule for a gang whose placement `placement` fits now: start when the policy is off, the job
 * is not subject to it, the placement lies at its minimal level, or its deadline has passed.
 */
export function judgeLocality(
  p: LocalityWaitPolicy,
  tree: TopologyTree,
  job: Pick<JobRecord, 'id' | 'spec' | 'submittedMs' | 'requeueAtMs'>,
  request: JobPlacementRequest,
  placement: Pick<Placement, 'level'>,
  ctx: { nowMs: number; waitSinceMs: number | undefined; queuedJobs: number },
): LocalityVerdict {
  if (p.mode === 'off' || !localityApplies(job, request)) return { kind: 'start' };
  const minimal = minimalLevel(tree, request);
  if (minimal < 0 || tree.levelIndex(placement.level) <= minimal) return { kind: 'start' };
  const sinceMs = ctx.waitSinceMs ?? ctx.nowMs;
  const gpus = request.gang.ranks * request.gang.gpusPerRank;
  const untilMs = localityDeadlineMs(p, { waitSinceMs: sinceMs, pendingSinceMs: pendingSinceMs(job), gpus, queuedJobs: ctx.queuedJobs });
  if (ctx.nowMs >= untilMs) return { kind: 'start' };
  return { kind: 'wait', minimal, sinceMs, untilMs, reserve: p.mode === 'reserve' };
}

/** The reason and text of a gang waiting for its minimal domain. */
export function localityWaitText(e: LocalityWaitEntry, placedLevel: string): string {
  const at = new Date(e.untilMs).toISOString();
  const hold = e.dueMs !== null ? `; holds ${e.heldGpus} GPUs of the ${e.level} domain due by the running jobs' time limits at ${new Date(e.dueMs).toISOString()}` : '';
  return `fits now only across a ${placedLevel}; waits for a ${e.level} domain (its minimal level) until ${at}, then spreads${hold}`;
}

/**
 * The draining domains held this cycle. A job that ends by a hold's due time may use its GPUs:
 * `openFor` releases those holds for one placement, `close` holds again what is still free.
 */
export class LocalityHolds {
  readonly holds: LocalityHold[] = [];
  private opened: LocalityHold[] = [];

  constructor(private readonly snapshot: ClusterSnapshot) {}

  add(hold: LocalityHold): void {
    this.snapshot.reserve(hold.claim);
    this.holds.push(hold);
  }

  /** Whether openFor(endMs) would open any hold (nothing changed). */
  opens(endMs: number): boolean {
    if (!Number.isFinite(endMs)) return false;
    for (const h of this.holds) if (endMs <= h.dueMs) return true;
    return false;
  }

  /** Release the holds due no earlier than `endMs` (a job's end by its time limit); true when any. */
  openFor(endMs: number): boolean {
    if (!Number.isFinite(endMs)) return false;
    for (const h of this.holds) {
      if (endMs > h.dueMs) continue;
      this.snapshot.release(h.claim);
      this.opened.push(h);
    }
    return this.opened.length > 0;
  }

  /** Hold again what the opened holds still find free. */
  close(): void {
    for (const h of this.opened) {
      h.claim = freeSubset(this.snapshot, h.claim);
      this.snapshot.reserve(h.claim);
    }
    this.opened = [];
  }

  /** Give every hold back to the snapshot (the end of the cycle). */
  releaseAll(): void {
    for (const h of this.holds) this.snapshot.release(h.claim);
  }
}

/**
 * What a caller of planCycle keeps between cycles for the locality wait (the job manager's Cycles,
 * and the simulator): when each waiting gang's wait started, and which gangs hold a draining
 * domain. `input()` is PlanInput.localityWait (undefined when off); `after(plan)` carries the
 * waits forward and says whether the holds changed (capacity no node event reports: jobs that
 * failed against the old holds are worth trying again); `waiting(id)`: a gang whose wait only
 * time ends, never "unchanged".
 */
export class LocalityClock {
  private readonly since = new Map<string, number>();
  private readonly waitingNow = new Set<string>();
  private held = '';

  constructor(private readonly policy: LocalityWaitPolicy | undefined) {}

  input(): { policy: LocalityWaitPolicy; sinceMs: (jobId: string) => number | undefined } | undefined {
    if (!this.policy || this.policy.mode === 'off') return undefined;
    return { policy: this.policy, sinceMs: (id) => this.since.get(id) };
  }

  /**
   * After a plan: a wait counts from the first cycle the gang could have spread, for as long as it
   * stays pending: forgotten when the plan starts it or it no longer pends (`stillPending`: the
   * caller's records, e.g. cancelled), kept while it waits beyond the queue depth (in none of the
   * plan's lists). True when the holds changed.
   */
  after(plan: { waiting: ReadonlyMap<string, unknown>; localityWaits: readonly LocalityWaitEntry[]; starts: ReadonlyArray<{ job: { id: string } }> }, stillPending: (jobId: string) => boolean): boolean {
    if (this.since.size > 0) {
      const started = new Set(plan.starts.map((s) => s.job.id));
      for (const id of [...this.since.keys()]) {
        if (plan.waiting.has(id)) continue;
        if (started.has(id) || !stillPending(id)) this.since.delete(id);
      }
    }
    this.waitingNow.clear();
    for (const w of plan.localityWaits) {
      this.since.set(w.jobId, w.sinceMs);
      this.waitingNow.add(w.jobId);
    }
    const held = plan.localityWaits.filter((w) => w.heldGpus > 0).map((w) => w.jobId).join(',');
    const changed = held !== this.held;
    this.held = held;
    return changed;
  }

  /** Whether the last plan had this gang waiting for its minimal domain. */
  waiting(jobId: string): boolean {
    return this.waitingNow.has(jobId);
  }
}
