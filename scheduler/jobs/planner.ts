/**
 * One scheduling cycle's decisions, pure: which pending jobs start where, which running gangs are
 * preempted for whom, the reservation the first blocked job holds (EASY backfill), and why every
 * other pending job waits. The job manager applies the plan (commit, then commands).
 *
 * - Order: queue priority, then fair share, then job priority (scheduler/queue AdmissionOrder).
 * - Quota: a queue never exceeds nominal + borrowing limit.
 * - Preemption: a blocked job may evict whole gangs it outranks (or that borrow quota its queue is
 *   owed); of the sets of victims that make it fit, the one with the least lost work (GPUs × time
 *   since each victim started or last checkpointed), tried globally and per topology domain.
 * - Backfill: the first job that fits neither now nor by preemption gets a reservation: the GPUs it
 *   would get once running jobs end at their time limits, and that time. Those GPUs are held; a later
 *   job may use them only if its own time limit ends before the reservation's time.
 * - MASTER_PORT: each unit's rank 0 node gets the lowest free port of the range (rank-env
 *   pickMasterPort); a start that finds none there waits, naming the node.
 - Service ports: a replica of an SLO service never lands on a node where another job's service
 *   port block overlaps its own (a node mask, see service-ports.ts); starts and added replicas of
 *   this cycle hold their blocks for the jobs after them, and what-ifs (preemption, backfill) drop
 *   the blocks of the jobs they take away.
 * - Locality wait (issue 22, placement.localityWait): a Training gang that fits now only above
 *   its minimal level may wait for a minimal domain, for a bounded time, holding a draining one in
 *   `reserve` mode (locality-wait.ts); a later job uses a held domain only if it ends before it is due.
 * The what-ifs themselves (victims with the least lost work, the reservation's time and GPUs) are
 * in what-if.ts; this file is the cycle's order of decisions.
 *
 * About 500 lines, over the usual 400: the cycle's order of decisions (queue depth, quota, start,
 * backfill, locality wait, preemption, reservation) reads top to bottom in one function; each
 * decision's own logic is in its file (what-if.ts, locality-wait.ts, service-ports.ts, rank-env.ts),
 * and what it keeps between cycles for speed in plan-caches.ts.
 */
import { jobRunAs, type JobRecord } from '../../shared/domain/index.js';
import { place, placeJob, releaseAll, requestFromJobSpec, explainText, type PlaceOptions, type Placement, type Reason } from '../placement/index.js';
import { AdmissionOrder, jobGpus, jobMinGpus, lostWorkGpuMs, mayPreempt, quotaBlock, type QueueConfig } from '../queue/index.js';
import type { ClusterSnapshot, GpuClaim, TopologyTree } from '../topology/index.js';
import { pickUnitPorts } from './rank-env.js';
import { ServicePorts, type PortBlock, type PortMask } from './service-ports.js';
import { atMinimalLevel, judgeLocality, localityWaitText, LocalityHolds, type LocalityWaitEntry, type LocalityWaitPolicy } from './locality-wait.js';
import { claimGpus, claimOf, findVictims, freeSubset, futureStart, type Candidate, type Request, type WhatIfOptions } from './what-if.js';
import { boundsOf, cycleRequest, type CycleRequest, type Outcome } from './plan-caches.js';

export interface PlanInput {
  nowMs: number;
  tree: TopologyTree;
  /** GPUs of active jobs, and of stopped ranks not yet gone, are used; the plan reserves on it. */
  snapshot: ClusterSnapshot;
  pending: readonly JobRecord[];
  /**
   * Placed, starting and running jobs (preemption candidates; their time limits shape backfill).
   * Not changed once passed: the same list passed again is taken to hold the same jobs.
   */
  active: readonly JobRecord[];
  /** Jobs for which preempted ranks are still stopping: they wait instead of preempting again. */
  awaitingVictims: ReadonlySet<string>;
  queues: (name: string) => QueueConfig;
  /** Decayed GPU-ms per queue (queue/decayedUsage). */
  usage: ReadonlyMap<string, number>;
  halfLifeMs: number;
  /**
   * MASTER_PORTs reserved on each node (by name) and the range to pick from: each unit (the gang,
   * a replica, a shard) is its own torch world, so its rank 0's node gets a port of its own. A
   * start whose node has none left waits. The plan reserves the ports it picks here. Absent: no
   * ports are picked (0).
   */
  masterPorts?: { range: { min: number; max: number }; reserved: Map<string, Set<number>> };
  /** Running inference jobs short of replicas (replaced or scaled up): the unit indices to place, before any pending job. */
  grow?: ReadonlyArray<{ job: JobRecord; units: readonly number[] }>;
  /**
   * True for a job that already failed (to fit and to preempt) with this very capacity and these
   * gangs running: once the cycle's reservation is settled it is not tried again (large queues stay cheap).
   */
  unchanged?: (job: JobRecord) => boolean;
  /** Last cycle's reservation decision, reused when its job is unchanged (same capacity, same gangs). */
  previous?: ReservationDecision | null;
  /**
   * Service port blocks held by ranks still stopping (preempted, cancelled, scaled down), by node
   * name: no service with an overlapping block lands there until they are gone, not even their own
   * job's next run. The active jobs' blocks come from `active`.
   */
  stoppingPorts?: ReadonlyArray<{ jobId: string; node: string; block: PortBlock }>;
  /**
   * The locality wait (locality-wait.ts) and when each gang's wait started (from earlier cycles'
   * Plan.localityWaits). Absent: off.
   */
  localityWait?: { policy: LocalityWaitPolicy; sinceMs: (jobId: string) => number | undefined };
  /**
   * The queue depth: at most this many pending jobs, in admission order, are looked at in a cycle
   * (tried, or found unchanged since they last failed); the rest wait, not tried this cycle (like
   * Slurm's bf_max_job_test). Absent or 0: every pending job. A cycle's cost grows with the jobs
   * looked at: without a bound, a queue of thousands behind a reserved gang made every cycle
   * cost thousands of checks, and a busy cluster's scheduling quadratic in its backlog.
   */
  queueDepth?: number;
  /**
   * Pending jobs in all, when `pending` holds only those the queue depth can reach (each queue's
   * first `queueDepth` in admission order: the same plan for a long queue at the cost of a short one,
   * as the simulator passes them). Absent: pending.length.
   */
  pendingCount?: number;
  /**
   * Word why each waiting job does not fit (placement's counted reasons, Waiting.reasons and text).
   * Default true; the simulator passes false: it reads no reasons, and counting them was a third
   * of a failed search. The decisions are the same either way.
   */
  explain?: boolean;
  /**
   * GPUs the active jobs hold per queue (jobGpus summed by spec.queue), when the caller keeps them;
   * absent: summed here over `active` (a pass over every active rank each cycle).
   */
  allocated?: ReadonlyMap<string, number>;
  /**
   * Record jobs not tried this cycle (unchanged since they last failed) in `waiting` as skipped.
   * Default true; the simulator passes false: its only use of them was to pass over them, and they
   * were half of a long queue's entries.
   */
  recordSkipped?: boolean;
}

/** jobs.queueDepthJobs's default: pending jobs looked at per cycle. */
export const DEFAULT_QUEUE_DEPTH_JOBS = 500;

/** The waiting text of a pending job beyond the queue depth. */
export function beyondDepthText(depth: number): string {
  return `not tried this cycle: beyond the queue depth (the first ${depth} pending jobs in admission order are tried)`;
}

/** Which job got the reservation (or that the first blocked job could get none), and the GPUs held. */
export interface ReservationDecision {
  jobId: string;
  reservation: { jobId: string; atMs: number; gpus: number } | null;
  held: GpuClaim | null;
}

export interface Waiting {
  reasons: Reason[];
  text: string;
  /** Not tried this cycle (unchanged since it last failed): keep the reasons from then. */
  skipped?: boolean;
}

export interface Preemption {
  victim: JobRecord;
  preemptor: JobRecord;
  lostWorkGpuMs: number;
}

export interface Plan {
  /** `masterPorts[i]`: the MASTER_PORT picked for placement i's unit (0 without PlanInput.masterPorts). */
  starts: Array<{ job: JobRecord; placements: Placement[]; masterPorts: number[] }>;
  preemptions: Preemption[];
  waiting: Map<string, Waiting>;
  /** Jobs whose spec cannot be placed on this cluster at all (e.g. a level it lacks). */
  failures: Array<{ job: JobRecord; message: string }>;
  reservation: { jobId: string; atMs: number; gpus: number } | null;
  /** Replicas placed for running inference jobs. */
  grown: Array<{ job: JobRecord; unit: number; placement: Placement; masterPort: number }>;
  /** Why a running inference job's missing replica could not be placed. */
  growWaiting: Map<string, string>;
  /** The reservation decision of this cycle (pass it back as `previous`). */
  decision: ReservationDecision | null;
  /** Jobs whose placement was tried (the others were unchanged since they last failed). */
  tried: number;
  /** Placement searches run: a request that failed is not searched again on an unchanged snapshot. */
  searches: number;
  /** Gangs that fit now only above their minimal level and wait for it (also in `waiting`). */
  localityWaits: LocalityWaitEntry[];
  /** Pending jobs beyond the queue depth (PlanInput.queueDepth): in none of starts, waiting, failures. */
  beyondDepth: number;
}

/**
 * One more replica for a running inference job: packed like the others, in a spread-level domain
 * none of its replicas uses when one fits, else anywhere.
 */
function placeReplica(snapshot: ClusterSnapshot, job: JobRecord, ports: PortMask | null): ReturnType<typeof place> {
  const tree = snapshot.tree;
  const options = placeOptions(ports);
  const request = requestFromJobSpec(job.spec, jobRunAs(job));
  const gang = { ...request.gang, mode: request.gang.mode ?? ('pack' as const) };
  const level = job.spec.spread ? tree.levelIndex(job.spec.spread) : -1;
  if (level >= 0) {
    const anc = tree.ancestor[level] as Int32Array;
    const used = new Set(job.ranks.map((r) => tree.nodeId(r.node)).filter((n) => n >= 0).map((n) => anc[n] as number));
    const mask = new Uint8Array(tree.nodeCount);
    for (let n = 0; n < tree.nodeCount; n++) mask[n] = used.has(anc[n] as number) || (ports && ports.nodeMask[n] !== 1) ? 0 : 1;
    const spread = place(snapshot, gang, { nodeMask: mask, maskReason: `spread: its ${job.spec.spread} already holds a replica` });
    if (spread.fits) return spread;
  }
  return place(snapshot, gang, options);
}

/** The placement options of a port mask (none: no options). */
/**
 * The job's mask without the nodes whose prolog failed for it (issue 20: JobRecord.prologFailedOn),
 * on top of its service-port mask; the mask unchanged when it has none on this tree.
 */
export function avoidPrologFailures(mask: PortMask | null, job: Pick<JobRecord, 'prologFailedOn'>, tree: Pick<TopologyTree, 'nodeCount' | 'nodeId'>): PortMask | null {
  const nodes = job.prologFailedOn;
  if (!nodes || nodes.length === 0) return mask;
  const ids = nodes.map((n) => tree.nodeId(n)).filter((id) => id >= 0);
  if (ids.length === 0) return mask;
  const nodeMask = mask ? mask.nodeMask.slice() : new Uint8Array(tree.nodeCount).fill(1);
  for (const id of ids) nodeMask[id] = 0;
  const why = `its prolog failed there (${nodes.join(', ')})`;
  return { nodeMask, maskReason: mask ? `${mask.maskReason}; ${why}` : why, key: `${mask?.key ?? ''}|prolog:${ids.join(',')}` };
}

const NO_OPTIONS: PlaceOptions = {};
const UNEXPLAINED: PlaceOptions = { explain: false };
function placeOptions(ports: PortMask | null, explain = true): PlaceOptions {
  if (!ports) return explain ? NO_OPTIONS : UNEXPLAINED;
  return explain ? { nodeMask: ports.nodeMask, maskReason: ports.maskReason } : { nodeMask: ports.nodeMask, maskReason: ports.maskReason, explain };
}

/** A job not tried this cycle (unchanged since it last failed): the caller keeps its reasons from then. */
const NO_JOBS: readonly JobRecord[] = [];
const SKIPPED: Waiting = Object.freeze({ reasons: [], text: '', skipped: true }) as Waiting;

/** A failed placement's waiting when the plan words nothing (PlanInput.explain false). */
const UNWORDED: Waiting = { reasons: [], text: 'does not fit' };

/** Why a failed placement waits; worded once per failed placement (jobs of one shape share one). */
const worded = new WeakMap<ReturnType<typeof placeJob>, Waiting>();
function waitingFrom(out: ReturnType<typeof placeJob>): Waiting {
  let w = worded.get(out);
  if (!w) {
    w = out.failed && !out.failed.fits ? { reasons: out.failed.reasons, text: explainText(out.failed) } : { reasons: [], text: 'does not fit' };
    worded.set(out, w);
  }
  return w;
}

export function planCycle(input: PlanInput): Plan {
  const { snapshot, tree, nowMs } = input;
  const plan: Plan = { starts: [], preemptions: [], waiting: new Map(), failures: [], reservation: null, grown: [], growWaiting: new Map(), decision: null, tried: 0, searches: 0, localityWaits: [], beyondDepth: 0 };
  const holds = new LocalityHolds(snapshot);
  const explain = input.explain !== false;
  const recordSkipped = input.recordSkipped !== false;
  let allocated = input.allocated;
  if (!allocated) {
    const sums = new Map<string, number>();
    for (const j of input.active) sums.set(j.spec.queue, (sums.get(j.spec.queue) ?? 0) + jobGpus(j));
    allocated = sums;
  }
  const order = new AdmissionOrder(input.pending, input.queues, input.usage, allocated, input.halfLifeMs);
  // Service port blocks held on each node: the active jobs', stopping ranks', and this cycle's starts.
  const ports = ServicePorts.of(tree, input.active);
  for (const h of input.stoppingPorts ?? []) ports.hold(h.jobId, h.block, [tree.nodeId(h.node)], true);
  /** What-if options for `job`: the port mask with the blocks of the jobs gone dropped. */
  const whatIfFor = (job: JobRecord): WhatIfOptions | undefined => {
    if (!ports.maskFor(job) && !job.prologFailedOn?.length) return undefined;
    return (gone) => placeOptions(avoidPrologFailures(ports.without(gone).maskFor(job), job, tree));
  };
  // Replicas of running services first: they were admitted already.
  for (const { job, units } of input.grow ?? []) {
    for (const unit of units) {
      const perUnit = job.spec.ranks * job.spec.gpusPerRank;
      const overQuota = quotaBlock(job.spec.queue, input.queues(job.spec.queue), order.allocatedTo(job.spec.queue), perUnit);
      if (overQuota) {
        plan.growWaiting.set(job.id, overQuota);
        break;
      }
      const r = placeReplica(snapshot, job, ports.maskFor(job));
      if (!r.fits) {
        plan.growWaiting.set(job.id, explainText(r).replace(/\n$/, ''));
        break;
      }
      const picked = pickUnitPorts(input.masterPorts, [r.placement]);
      if (typeof picked === 'string') {
        plan.growWaiting.set(job.id, picked);
        break;
      }
      snapshot.reserve(r.placement);
      ports.holdPlacements(job, [r.placement]);
      order.admitted(job, perUnit);
      plan.grown.push({ job, unit, placement: r.placement, masterPort: picked[0]! });
    }
  }
  const victimsTaken = new Set<string>();
  // Preemption candidates: active jobs with a rank's GPU on this tree (a gang on nodes the scheduler
  // does not know, e.g. just after a restart, frees nothing). Found once per cycle, not per pending job.
  // Found when a blocked job first might preempt (a claim per active gang each cycle was a large
  // share of a busy cluster's cycle); the bounds over all active jobs are a superset's, so no less.
  let holdersFound: JobRecord[] | undefined;
  const holders = (): JobRecord[] => (holdersFound ??= input.active.filter((v) => claimOf(tree, snapshot, v).ranks.length > 0));
  const outranks = boundsOf(input.active, input.queues);
  /** Active jobs not taken as victims this cycle (the what-ifs' running jobs). */
  const stayers = (): readonly JobRecord[] => (victimsTaken.size === 0 ? input.active : input.active.filter((a) => !victimsTaken.has(a.id)));
  let held: GpuClaim | null = null;
  let reservationSettled = false;
  // A placement that failed fails again for the same request on the same snapshot under the same
  // node mask: a queue of thousands of jobs of a few shapes costs a few placements. `version`
  // moves with every change to the snapshot (a start, a reservation held); a failed placement
  // leaves it as it was. A service's port mask (nodes and reason) is part of the key.
  let version = 0;
  // Misses are kept per shape (Shape, for this cycle's token) and variant; under a node mask (a
  // service's ports, failed prologs) per shape and mask, in this cycle's maps.
  const token = {};
  const masked = [new Map<string, { version: number; out: Outcome }>(), new Map<string, { version: number; out: Outcome }>()] as const;
  /** The failure this request met on the snapshot as it is now (same version, same mask), if any. */
  const knownMiss = (c: CycleRequest, mask: PortMask | null, backfill: boolean): Outcome | null => {
    const v = backfill ? 1 : 0;
    if (mask) {
      const hit = masked[v].get(`${c.shape.key}\u0000${mask.key}`);
      return hit && hit.version === version ? hit.out : null;
    }
    const s = c.shape;
    return s.cycle === token && s.version[v] === version ? s.out[v] : null;
  };
  /** A search for a request with no known miss (the caller asked knownMiss); a miss is remembered. */
  const tryPlace = (c: CycleRequest, mask: PortMask | null, backfill: boolean): Outcome => {
    plan.searches++;
    const out = placeJob(snapshot, c.request, placeOptions(mask, explain));
    if (out.fits && out.placements.length > 0) {
      version++;
      return out;
    }
    releaseAll(snapshot, out.placements);
    const miss = { ...out, placements: [] };
    const v = backfill ? 1 : 0;
    if (mask) masked[v].set(`${c.shape.key}\u0000${mask.key}`, { version, out: miss });
    else {
      const s = c.shape;
      if (s.cycle !== token) {
        s.cycle = token;
        s.version = [-1, -1];
        s.out = [null, null];
      }
      s.version[v] = version;
      s.out[v] = miss;
    }
    return miss;
  };

  const depth = input.queueDepth && input.queueDepth > 0 ? input.queueDepth : Infinity;
  const pendingCount = input.pendingCount ?? input.pending.length;
  let looked = 0;
  for (let job = order.next(); job; job = order.next()) {
    // Beyond the queue depth: the caller explains them (Cycles), not one Map entry each per cycle.
    if (looked >= depth) break;
    looked++;
    if (input.unchanged?.(job)) {
      const prev = input.previous;
      if (!reservationSettled && prev?.jobId === job.id && (!prev.held || prev.held.ranks.every((r) => r.gpus.every((g) => snapshot.isFree(r.nodeId, g))))) {
        // The head blocked job, unchanged: its reservation decision stands.
        if (prev.held) {
          snapshot.reserve(prev.held);
          version++;
        }
        held = prev.held;
        plan.reservation = prev.reservation;
        plan.decision = prev;
        reservationSettled = true;
      }
      if (reservationSettled) {
        if (recordSkipped) plan.waiting.set(job.id, SKIPPED);
        continue;
      }
    }
    plan.tried++;
    let request: Request;
    try {
      const cached = cycleRequest(job);
      request = cached.request;
      const queue = input.queues(job.spec.queue);
      const queueBlock = queue.nominalGpus === null ? null : quotaBlock(job.spec.queue, queue, order.allocatedTo(job.spec.queue), jobMinGpus(job));
      if (queueBlock) {
        plan.waiting.set(job.id, { reasons: [{ level: 'queue', reason: 'quota', count: 1 }], text: queueBlock });
        continue;
      }
      const limitMs = (job.spec.timeLimitSeconds ?? 0) * 1000;
      const endsBeforeReservation = plan.reservation !== null && Number.isFinite(plan.reservation.atMs) && limitMs > 0 && nowMs + limitMs <= plan.reservation.atMs;
      const backfill = endsBeforeReservation && held !== null;
      const endMs = limitMs > 0 ? nowMs + limitMs : Infinity;
      const mask = avoidPrologFailures(ports.maskFor(job), job, tree);
      // A shape that failed on this very snapshot (and reservation) fails again: no GPUs moved for it
      // (hundreds of short jobs waiting behind a reserved gang each released and held again its GPUs).
      let out = holds.opens(endMs) ? null : knownMiss(cached, mask, backfill);
      if (!out) {
        if (backfill && held) snapshot.release(held);
        // Draining minimal domains held for waiting gangs (reserve): open to a job that ends before they are due.
        const opened = holds.openFor(endMs);
        try {
          // A backfill candidate is placed with the reservation's GPUs released. With held minimal
          // domains opened (locality wait), the snapshot differs from the cached one: a search of its own.
          out = opened ? (plan.searches++, placeJob(snapshot, request, placeOptions(mask, explain))) : tryPlace(cached, mask, backfill);
        } finally {
          if (backfill && held) {
            const before = claimGpus(held);
            held = freeSubset(snapshot, held);
            snapshot.reserve(held);
            // Only a start changes the reservation's GPUs (tryPlace counted it); a miss leaves all as it was.
            if (claimGpus(held) !== before) version++;
          }
          if (opened) {
            holds.close();
            version++;
          }
        }
      }
      if (out.fits && out.placements.length === 1 && input.localityWait) {
        const placement = out.placements[0] as Placement;
        const lw = input.localityWait;
        const verdict = judgeLocality(lw.policy, tree, job, request, placement, { nowMs, waitSinceMs: lw.sinceMs(job.id), queuedJobs: pendingCount - 1 });
        if (verdict.kind === 'wait') {
          releaseAll(snapshot, out.placements);
          version++;
          const entry: LocalityWaitEntry = { jobId: job.id, sinceMs: verdict.sinceMs, untilMs: verdict.untilMs, level: tree.levels[verdict.minimal] as string, heldGpus: 0, dueMs: null };
          let spread = false;
          if (verdict.reserve) {
            // The minimal domain that frees soonest by the running jobs' time limits; past the deadline: spread now.
            const future = futureStart(snapshot, atMinimalLevel(tree, request, verdict.minimal), stayers(), nowMs, whatIfFor(job));
            if (future && Number.isFinite(future.atMs)) {
              if (future.atMs > verdict.untilMs) spread = true;
              else {
                const claim = freeSubset(snapshot, { ranks: future.placements.flatMap((p) => p.ranks) });
                holds.add({ jobId: job.id, dueMs: future.atMs, claim });
                entry.heldGpus = claimGpus(claim);
                entry.dueMs = future.atMs;
              }
            }
          }
          if (spread) {
            snapshot.reserve(placement);
            version++;
          } else {
            plan.localityWaits.push(entry);
            plan.waiting.set(job.id, { reasons: [{ level: entry.level, reason: 'waiting for its minimal domain', count: 1 }], text: localityWaitText(entry, placement.level) });
            continue;
          }
        }
      }
      if (out.fits && out.placements.length > 0) {
        const gpus = out.placements.reduce((a, p) => a + p.ranks.reduce((b, r) => b + r.gpus.length, 0), 0);
        const overQuota = quotaBlock(job.spec.queue, input.queues(job.spec.queue), order.allocatedTo(job.spec.queue), gpus);
        const picked = overQuota ?? pickUnitPorts(input.masterPorts, out.placements);
        if (typeof picked === 'string') {
          releaseAll(snapshot, out.placements);
          plan.waiting.set(job.id, { reasons: [{ level: overQuota ? 'queue' : 'node', reason: overQuota ? 'quota' : picked, count: 1 }], text: picked });
          continue;
        }
        plan.starts.push({ job, placements: out.placements, masterPorts: picked });
        ports.holdPlacements(job, out.placements);
        order.admitted(job, gpus);
        continue;
      }
      releaseAll(snapshot, out.placements);
      const waiting = explain ? waitingFrom(out) : UNWORDED;
      if (input.awaitingVictims.has(job.id)) {
        plan.waiting.set(job.id, { reasons: [{ level: 'job', reason: 'waiting for preempted ranks to stop', count: 1 }], text: 'waiting for the ranks it preempted to stop' });
        continue;
      }
      // Preemption: whole gangs this job outranks (or that borrow quota its queue is owed).
      const candidates: Candidate[] = [];
      // Looking through every running gang for each blocked job made a cycle pending × running
      // when no job outranks another (the usual case): skipped when no holder can be a victim.
      for (const v of outranks(job) ? holders() : NO_JOBS) {
        if (victimsTaken.has(v.id) || !mayPreempt(job, v, input.queues, (q) => order.allocatedTo(q))) continue;
        const claim = claimOf(tree, snapshot, v);
        if (claim.ranks.length) candidates.push({ job: v, claim, lost: lostWorkGpuMs(v, nowMs) });
      }
      // Absent when the job has no mask now: none with any jobs gone either (whatIfFor's condition).
      const whatIf = mask ? whatIfFor(job) : undefined;
      const found = candidates.length ? findVictims(snapshot, request, candidates, whatIf) : null;
      if (found) {
        for (const c of found.victims) {
          victimsTaken.add(c.job.id);
          order.admitted(c.job, -jobGpus(c.job));
          plan.preemptions.push({ victim: c.job, preemptor: job, lostWorkGpuMs: c.lost });
        }
        plan.waiting.set(job.id, {
          reasons: [{ level: 'job', reason: 'preempting lower-priority gangs', count: found.victims.length }],
          text: `preempting ${found.victims.map((c) => c.job.id).join(', ')}; starts when their ranks have stopped`,
        });
        continue;
      }
      if (!reservationSettled) {
        reservationSettled = true;
        const future = futureStart(snapshot, request, stayers(), nowMs, whatIf);
        if (future) {
          held = freeSubset(snapshot, { ranks: future.placements.flatMap((p) => p.ranks) });
          snapshot.reserve(held);
          version++;
          plan.reservation = { jobId: job.id, atMs: future.atMs, gpus: claimGpus(held) };
        }
        plan.decision = { jobId: job.id, reservation: plan.reservation, held };
      }
      plan.waiting.set(job.id, waiting);
    } catch (e) {
      plan.failures.push({ job, message: (e as Error).message });
    }
  }
  plan.beyondDepth = Math.max(0, pendingCount - looked);
  if (held) snapshot.release(held);
  holds.releaseAll();
  return plan;
}
