/**
 * Which usage entries a job change writes (issue 23 point 1), pure: the job's record before and
 * after a change in, the rank entries to write out. The job table (scheduler/jobs/table.ts) calls
 * it for every record it commits or writes behind, and the entries go into the same store write.
 *
 *   a rank ...                                        → its entry
 *   placed (a key job/epoch/rank not in `prev`)        → open: placed, not started
 *   started, or its state, start or exit changed      → as the rank record says (an exit: ended,
 *                                                       at the agent's finish time)
 *   left running when its job left its run (requeued,
 *   failed, cancelled, timeout: the ranks are stopped) → ended now, endSource `stopped`; the exit
 *                                                       the agent reports later (lifecycle's late
 *                                                       exit) replaces it with the measured end
 *   dropped while its job was active (placed again,
 *   a replica replaced) without an exit               → ended now, endSource `lost`
 *
 * Every entry is keyed by job, epoch and rank (usageKey): a rewrite replaces, never doubles. The
 * time of a change is the new record's updatedMs (the lifecycle's clock). `closed` lists the
 * entries that ended for the first time in this change (the GPU-hour counters count those once).
 */
import { ACTIVE_JOB_STATES, rankEpoch, type JobRecord, type RankRecord, type RankUsageEntry } from '../../shared/domain/index.js';

export interface UsageChanges {
  entries: RankUsageEntry[];
  /** Entries among `entries` that ended in this change (not ended before). */
  closed: RankUsageEntry[];
}

const NONE: UsageChanges = { entries: [], closed: [] };

function keyOf(job: Pick<JobRecord, 'epoch'>, r: RankRecord): string {
  return `${rankEpoch(job, r)}/${r.rank}`;
}

/** A rank's entry as its record says; `endMs`/`endSource` for a rank that has not exited. */
export function rankEntry(job: JobRecord, r: RankRecord, end?: { endMs: number; endSource: 'stopped' | 'lost' }): RankUsageEntry {
  const e: RankUsageEntry = {
    kind: 'rank',
    jobId: job.id,
    epoch: rankEpoch(job, r),
    rank: r.rank,
    user: job.owner,
    queue: job.spec.queue,
    node: r.node,
    gpus: [...r.gpus],
    submittedMs: job.submittedMs,
    placedMs: r.placedMs ?? 0,
    startMs: r.startedMs ?? 0,
    endMs: 0,
    exitCode: r.exitCode,
    signal: r.signal,
  };
  if (r.state === 'exited') {
    e.endMs = r.endedMs ?? job.updatedMs;
    e.endSource = 'exit';
    if (r.startError !== undefined) e.cause = 'failed-to-start';
    else if (r.endedBy) e.cause = r.endedBy;
    if (r.usage?.cpuUsec != null) e.cpuUsec = r.usage.cpuUsec;
    if (r.usage?.memoryPeakBytes != null) e.memoryPeakBytes = r.usage.memoryPeakBytes;
  } else if (end) {
    e.endMs = end.endMs;
    e.endSource = end.endSource;
  }
  // A started rank whose end the agent put before its start (clock step): no negative time.
  if (e.startMs > 0 && e.endMs > 0 && e.endMs < e.startMs) e.endMs = e.startMs;
  return e;
}

function changed(a: RankRecord, b: RankRecord): boolean {
  return a.state !== b.state || a.startedMs !== b.startedMs || a.endedMs !== b.endedMs || a.exitCode !== b.exitCode || a.node !== b.node;
}

/** The entries a change of `prev` (undefined: a new job) into `next` writes. */
export function usageChanges(prev: JobRecord | undefined, next: JobRecord): UsageChanges {
  if (next.ranks.length === 0 && (!prev || prev.ranks.length === 0)) return NONE;
  const nowMs = next.updatedMs;
  // The common change (a rank of a gang reported): the same ranks in the same places, one of them a
  // new object. Compared place by place, without a map: a 512-rank gang's starts make 512 of these.
  if (prev && prev.ranks.length === next.ranks.length && ACTIVE_JOB_STATES.has(prev.state) === ACTIVE_JOB_STATES.has(next.state)) {
    let aligned = true;
    for (let i = 0; i < next.ranks.length && aligned; i++) {
      const p = prev.ranks[i]!;
      const r = next.ranks[i]!;
      aligned = p === r || (p.rank === r.rank && rankEpoch(prev, p) === rankEpoch(next, r));
    }
    if (aligned) {
      const out: UsageChanges = { entries: [], closed: [] };
      const active = ACTIVE_JOB_STATES.has(next.state);
      for (let i = 0; i < next.ranks.length; i++) {
        const p = prev.ranks[i]!;
        const r = next.ranks[i]!;
        if (p === r || !changed(p, r)) continue;
        if (r.state === 'exited') push(out, rankEntry(next, r), p.state !== 'exited' && active);
        else if (active) push(out, rankEntry(next, r), false);
      }
      return out;
    }
  }
  const before = new Map<string, RankRecord>();
  if (prev) for (const r of prev.ranks) before.set(keyOf(prev, r), r);
  const wasActive = prev !== undefined && ACTIVE_JOB_STATES.has(prev.state);
  const isActive = ACTIVE_JOB_STATES.has(next.state);
  const out: UsageChanges = { entries: [], closed: [] };
  const seen = new Set<string>();
  for (const r of next.ranks) {
    const key = keyOf(next, r);
    seen.add(key);
    const p = before.get(key);
    if (p === r) {
      // The same object: unchanged, unless its job left its run now with the rank still going.
      if (wasActive && !isActive && r.state !== 'exited') push(out, rankEntry(next, r, { endMs: nowMs, endSource: 'stopped' }), true);
      continue;
    }
    if (!p) {
      // Placed now (or first seen): open, or already ended if it is.
      push(out, rankEntry(next, r, !isActive && r.state !== 'exited' ? { endMs: nowMs, endSource: 'stopped' } : undefined), r.state === 'exited' || !isActive);
      continue;
    }
    if (r.state === 'exited') {
      if (changed(p, r)) push(out, rankEntry(next, r), p.state !== 'exited' && (wasActive || !prev));
      continue;
    }
    if (wasActive && !isActive) {
      push(out, rankEntry(next, r, { endMs: nowMs, endSource: 'stopped' }), true);
      continue;
    }
    if (isActive && changed(p, r)) push(out, rankEntry(next, r), false);
  }
  if (prev && wasActive) {
    for (const r of prev.ranks) {
      if (r.state === 'exited' || seen.has(keyOf(prev, r))) continue;
      push(out, rankEntry(prev, r, { endMs: nowMs, endSource: 'lost' }), true);
    }
  }
  return out;
}

function push(out: UsageChanges, e: RankUsageEntry, closedNow: boolean): void {
  out.entries.push(e);
  if (closedNow && e.endMs > 0) out.closed.push(e);
}
