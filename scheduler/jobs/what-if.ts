/**
 * The cycle planner's what-ifs (see planner.ts), pure: which running gangs to preempt so a blocked
 * job fits, with the least lost work (greedy, globally and per topology domain), and when and
 * where the first blocked job would start once running jobs end at their time limits (EASY
 * backfill's reservation). Each works on a clone of the cycle's snapshot and gives back the GPUs
 * it looked at; the planner applies the answer.
 */
import type { JobRecord } from '../../shared/domain/index.js';
import { placeJob, releaseAll, type JobPlacementRequest, type PlaceOptions, type Placement } from '../placement/index.js';
import { GPU_USED, type ClusterSnapshot, type GpuClaim, type TopologyTree } from '../topology/index.js';

/** The GPUs a job holds that the snapshot marks used, as a claim. */
export function claimOf(tree: TopologyTree, snapshot: ClusterSnapshot, job: JobRecord): GpuClaim {
  const ranks: Array<{ nodeId: number; gpus: number[] }> = [];
  for (const r of job.ranks) {
    const nodeId = tree.nodeId(r.node);
    if (nodeId < 0) continue;
    const off = tree.gpuOffset[nodeId] as number;
    const gpus = r.gpus.filter((g) => g < (tree.gpuCount[nodeId] as number) && snapshot.gpuState[off + g] === GPU_USED);
    if (gpus.length) ranks.push({ nodeId, gpus });
  }
  return { ranks };
}

/** The GPUs of a claim that are free on the snapshot now. */
export function freeSubset(snapshot: ClusterSnapshot, claim: GpuClaim): GpuClaim {
  const ranks: Array<{ nodeId: number; gpus: number[] }> = [];
  for (const r of claim.ranks) {
    const gpus = r.gpus.filter((g) => snapshot.isFree(r.nodeId, g));
    if (gpus.length) ranks.push({ nodeId: r.nodeId, gpus });
  }
  return { ranks };
}

export function claimGpus(c: GpuClaim): number {
  let n = 0;
  for (const r of c.ranks) n += r.gpus.length;
  return n;
}

export type Request = JobPlacementRequest;

/** Whether the request fits on the snapshot (tried, then rolled back). */
function fits(snapshot: ClusterSnapshot, request: Request, options: PlaceOptions = {}): boolean {
  const out = placeJob(snapshot, request, { ...options, explain: false });
  releaseAll(snapshot, out.placements);
  return out.fits;
}

/**
 * The placement options for a what-if in which these jobs are gone (their GPUs and their service
 * port blocks free). Absent: no options, whatever is gone.
 */
export type WhatIfOptions = (gone: ReadonlySet<string>) => PlaceOptions;

export interface Candidate {
  job: JobRecord;
  claim: GpuClaim;
  lost: number;
}

/** Greedy by least lost work until the job fits, then drop victims it turns out not to need. */
function greedyVictims(base: ClusterSnapshot, request: Request, cands: readonly Candidate[], whatIf?: WhatIfOptions): { victims: Candidate[]; lost: number } | null {
  const s = base.clone();
  const taken: Candidate[] = [];
  const gone = new Set<string>();
  let ok = false;
  for (const c of cands) {
    s.release(c.claim);
    taken.push(c);
    gone.add(c.job.id);
    if (fits(s, request, whatIf?.(gone))) {
      ok = true;
      break;
    }
  }
  if (!ok) return null;
  // Costliest first: keep a victim only if the job no longer fits without evicting it.
  const keep: Candidate[] = [];
  for (const c of [...taken].sort((a, b) => b.lost - a.lost)) {
    s.reserve(c.claim);
    gone.delete(c.job.id);
    if (fits(s, request, whatIf?.(gone))) continue;
    s.release(c.claim);
    gone.add(c.job.id);
    keep.push(c);
  }
  return { victims: keep, lost: keep.reduce((a, c) => a + c.lost, 0) };
}

/** At most this many domains per level are tried (those with the most GPUs that could be freed). */
const DOMAINS_PER_LEVEL = 32;

/**
 * The set of whole gangs to evict so `request` fits with the least lost work, or null. Tried over
 * every candidate, and per domain at each level (only the candidates with ranks in that domain),
 * so a cheap set that frees one NVLink domain or leaf beats a scattered one.
 */
export function findVictims(snapshot: ClusterSnapshot, request: Request, candidates: readonly Candidate[], whatIf?: WhatIfOptions): { victims: Candidate[]; lost: number } | null {
  const tree = snapshot.tree;
  const sorted = [...candidates].sort((a, b) => a.lost - b.lost || claimGpus(b.claim) - claimGpus(a.claim));
  let best = greedyVictims(snapshot, request, sorted, whatIf);
  if (!best) return null;
  const need = request.minUnits * request.gang.ranks * request.gang.gpusPerRank;
  for (let level = 0; level < tree.top; level++) {
    const anc = tree.ancestor[level] as Int32Array;
    const perDomain = new Map<number, Candidate[]>();
    for (const c of sorted) {
      const doms = new Set(c.claim.ranks.map((r) => anc[r.nodeId] as number));
      for (const d of doms) {
        const list = perDomain.get(d);
        if (list) list.push(c);
        else perDomain.set(d, [c]);
      }
    }
    const freeable = (d: number, list: Candidate[]): number =>
      ((snapshot.domainFree[level] as Int32Array)[d] as number) + list.reduce((a, c) => a + claimGpus(c.claim), 0);
    const domains = [...perDomain.entries()]
      .filter(([d, list]) => freeable(d, list) >= need && list.length < sorted.length)
      .sort((a, b) => freeable(b[0], b[1]) - freeable(a[0], a[1]))
      .slice(0, DOMAINS_PER_LEVEL);
    for (const [, list] of domains) {
      const r = greedyVictims(snapshot, request, list, whatIf);
      if (r && (r.lost < best.lost || (r.lost === best.lost && r.victims.length < best.victims.length))) best = r;
    }
  }
  return best;
}

/**
 * When an active job ends at the latest: its epoch's deadline (the agent stops its ranks then),
 * for records from before deadlines its start + the limit; Infinity without a limit.
 */
export function endOf(j: Pick<JobRecord, 'spec' | 'startedMs' | 'deadlineMs'>, nowMs: number): number {
  if (!j.spec.timeLimitSeconds) return Infinity;
  return j.deadlineMs ?? (j.startedMs || nowMs) + j.spec.timeLimitSeconds * 1000;
}

/**
 * When the job could start if running jobs ended at their time limits: the earliest such time and
 * the placement it would get then. Jobs without a limit end at an unknown time (Infinity).
 */
export function futureStart(snapshot: ClusterSnapshot, request: Request, active: readonly JobRecord[], nowMs: number, whatIf?: WhatIfOptions): { atMs: number; placements: Placement[] } | null {
  const tree = snapshot.tree;
  const ends = new EndOrder(active, nowMs);
  const s = snapshot.clone();
  const gone = new Set<string>();
  // No placement is tried while fewer GPUs are free in all than one unit needs: it cannot fit (a
  // search after every end made a backlog's reservation cost a search per running job).
  const need = request.minUnits >= 1 ? request.gang.ranks * request.gang.gpusPerRank : 0;
  const top = s.domainFree[tree.top] as Int32Array;
  let free = 0;
  for (const f of top) free += f;
  for (let i = ends.next(); i >= 0; i = ends.next()) {
    const j = active[i] as JobRecord;
    const claim = claimOf(tree, s, j);
    // A job holding nothing on this tree (its nodes unknown, e.g. after a restart) frees nothing.
    if (claim.ranks.length === 0) continue;
    s.release(claim);
    gone.add(j.id);
    for (const r of claim.ranks) free += r.gpus.length;
    if (free < need) continue;
    // A what-if's failures are never worded (explainNoFit was most of a reservation's cost).
    const out = placeJob(s, request, { ...whatIf?.(gone), explain: false });
    if (out.fits) return { atMs: ends.endMs(i), placements: out.placements };
    releaseAll(s, out.placements);
  }
  return null;
}

/**
 * Indices of `active` by end (endOf), ties in their order in `active` (a stable sort's order), drawn
 * one at a time from a heap: a reservation usually fits after a few ends, and sorting every active
 * job for each one was a tenth of a busy simulation.
 */
export class EndOrder {
  private readonly ends: Float64Array;
  private readonly heap: Int32Array;
  private size: number;

  constructor(active: readonly JobRecord[], nowMs: number) {
    const n = active.length;
    this.ends = new Float64Array(n);
    this.heap = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      this.ends[i] = endOf(active[i] as JobRecord, nowMs);
      this.heap[i] = i;
    }
    this.size = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.down(i);
  }

  endMs(i: number): number {
    return this.ends[i] as number;
  }

  /** The next index, or -1 when every one was drawn. */
  next(): number {
    if (this.size === 0) return -1;
    const h = this.heap;
    const top = h[0] as number;
    h[0] = h[--this.size] as number;
    this.down(0);
    return top;
  }

  private before(a: number, b: number): boolean {
    const ea = this.ends[a] as number;
    const eb = this.ends[b] as number;
    return ea < eb || (ea === eb && a < b);
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.size && this.before(h[l] as number, h[m] as number)) m = l;
      if (r < this.size && this.before(h[r] as number, h[m] as number)) m = r;
      if (m === i) return;
      const t = h[i] as number;
      h[i] = h[m] as number;
      h[m] = t;
      i = m;
    }
  }
}
