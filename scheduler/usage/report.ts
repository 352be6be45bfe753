/**
 * `gantry usage` (issue 23 point 2), pure: rank usage entries and a window in, rows grouped by
 * user, queue, job or node out.
 *
 * - GPU time: per rank, its GPUs × the part of [start, end) inside the window (a running rank:
 *   until `nowMs`); integer GPU-ms, summed exactly, GPU-hours derived from them.
 * - Jobs: distinct jobs with GPU time in the window (a job whose ranks ran on two nodes counts
 *   once per node under --by node).
 * - Waiting: per job, from its submission to its first rank's start, for jobs whose first start
 *   falls in the window (a requeued job's later runs do not count again).
 */
import type { RankUsageEntry } from '../../shared/domain/index.js';

export const USAGE_GROUPS = ['user', 'queue', 'job', 'node'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export interface UsageWindow {
  sinceMs: number;
  untilMs: number;
}

export interface UsageRow {
  key: string;
  gpuMs: number;
  gpuHours: number;
  jobs: number;
  ranks: number;
  /** Jobs that started (first start) in the window, and their waiting time. */
  started: number;
  waitMsTotal: number;
  waitMsMax: number;
  /** CPU time measured of the ranks that ended in the window (rank cgroups), microseconds. */
  cpuUsec: number;
}

export const MS_PER_HOUR = 3_600_000;

/** The part of [a, b) inside the window, in ms (0 when none). */
export function overlapMs(a: number, b: number, w: UsageWindow): number {
  return Math.max(0, Math.min(b, w.untilMs) - Math.max(a, w.sinceMs));
}

/** A rank's GPU-ms in the window (0 when it never started). */
export function rankGpuMs(e: RankUsageEntry, w: UsageWindow, nowMs: number): number {
  if (e.startMs <= 0) return 0;
  const end = e.endMs > 0 ? e.endMs : Math.max(e.startMs, nowMs);
  return e.gpus.length * overlapMs(e.startMs, end, w);
}

function groupKey(e: RankUsageEntry, by: UsageGroup): string {
  switch (by) {
    case 'user':
      return e.user;
    case 'queue':
      return e.queue;
    case 'job':
      return e.jobId;
    case 'node':
      return e.node;
  }
}

/** Rows sorted by GPU time, most first (then key). `user`: only that user's entries (a caller who sees only its own). */
export function usageReport(entries: Iterable<RankUsageEntry>, by: UsageGroup, w: UsageWindow, nowMs: number, user?: string): UsageRow[] {
  const rows = new Map<string, UsageRow & { jobIds: Set<string> }>();
  const firstStart = new Map<string, { startMs: number; submittedMs: number; key: string }>();
  for (const e of entries) {
    if (user !== undefined && e.user !== user) continue;
    const key = groupKey(e, by);
    const gpuMs = rankGpuMs(e, w, nowMs);
    if (e.startMs > 0) {
      const f = firstStart.get(e.jobId);
      if (!f || e.startMs < f.startMs) firstStart.set(e.jobId, { startMs: e.startMs, submittedMs: e.submittedMs, key });
    }
    if (gpuMs === 0 && !(e.startMs > 0 && overlapMs(e.startMs, e.endMs > 0 ? e.endMs : nowMs, w) > 0)) continue;
    const row = rowOf(rows, key);
    row.gpuMs += gpuMs;
    row.ranks++;
    row.jobIds.add(e.jobId);
    if (e.endMs >= w.sinceMs && e.endMs < w.untilMs && e.cpuUsec) row.cpuUsec += e.cpuUsec;
  }
  for (const f of firstStart.values()) {
    if (f.startMs < w.sinceMs || f.startMs >= w.untilMs) continue;
    const row = rowOf(rows, f.key);
    const wait = Math.max(0, f.startMs - f.submittedMs);
    row.started++;
    row.waitMsTotal += wait;
    row.waitMsMax = Math.max(row.waitMsMax, wait);
  }
  return [...rows.values()]
    .map(({ jobIds, ...r }) => ({ ...r, jobs: jobIds.size, gpuHours: r.gpuMs / MS_PER_HOUR }))
    .sort((a, b) => b.gpuMs - a.gpuMs || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function rowOf(rows: Map<string, UsageRow & { jobIds: Set<string> }>, key: string): UsageRow & { jobIds: Set<string> } {
  let r = rows.get(key);
  if (!r) {
    r = { key, gpuMs: 0, gpuHours: 0, jobs: 0, ranks: 0, started: 0, waitMsTotal: 0, waitMsMax: 0, cpuUsec: 0, jobIds: new Set() };
    rows.set(key, r);
  }
  return r;
}
