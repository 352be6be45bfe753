/**
 * Which rank an application XID belongs to, pure (issue 20 point 3). The driver names the process
 * it blamed (`pid=`, `name=`) in the XID message; the shell (agent/job-faults.ts) reads what /proc
 * still says of that pid and hands it here with the ranks this agent runs or recently ran:
 *
 *   1. cgroup: a line of /proc/<pid>/cgroup whose path holds `<jobId>.<rank>.<epoch>/rank` (the
 *      rank leaf containment makes, agent/runner/cgroup/types.ts) names the rank, also for a
 *      process the rank started in a group or session of its own;
 *   2. process group, then session: the rank's pid is its process group's and session's id
 *      (the supervisor starts it with setsid), so a pgid or sid equal to a rank's pid names it;
 *   3. the pid itself: the process may be gone when the kernel message is read; a rank whose pid
 *      (or process group) it was is still known, running or recently ended.
 *
 * An XID that happened while its rank was being stopped by Gantry itself (a StopTask, a fence, its
 * time limit): at most `ignoreAfterStopMs` after the stop, is `ignored-stopping`: XID 45
 * (preemptive cleanup) follows every kill of a CUDA process, and that is not the job's fault. One
 * that happened before the stop (read later: the agent reads the kernel log once a cycle) is the
 * rank's. No I/O, no clock: the XID's time comes in.
 */
import { parseTaskCgroupName } from '../runner/cgroup/base.js';

/** One rank of this node, running or recently ended, as the shell knows it. */
export interface KnownRank {
  jobId: string;
  rank: number;
  epoch: number;
  /** The rank's pid, which is also its process group and session id; null before it started. */
  pid: number | null;
  /** Unix ms Gantry asked it to stop (a StopTask or fence: stop.json; its time limit: the deadline); absent: never. */
  stopMs?: number;
  /** Unix ms it ended; absent while it runs. */
  endedMs?: number;
}

/** What /proc said of the blamed pid when the message was read; null: it is gone (or unreadable). */
export interface BlamedProcess {
  /** The paths of /proc/<pid>/cgroup's lines (v2 and every v1 hierarchy). */
  cgroupPaths: string[];
  /** Fields 5 and 6 of /proc/<pid>/stat; null where unread. */
  pgid: number | null;
  sid: number | null;
}

export type AttributedBy = 'cgroup' | 'process-group' | 'session' | 'pid';

export type XidAttribution =
  | { result: 'attributed'; rank: KnownRank; by: AttributedBy }
  | { result: 'ignored-stopping'; rank: KnownRank; by: AttributedBy; stoppedAgoMs: number }
  | { result: 'unattributed'; reason: 'no-pid' | 'no-rank' };

export const ATTRIBUTION_RESULTS = ['attributed', 'ignored-stopping', 'unattributed'] as const;

/** The rank a cgroup path names through its `<jobId>.<rank>.<epoch>/rank` segments (deeper paths included); null: none. */
export function rankOfCgroupPath(cgPath: string): { jobId: string; rank: number; epoch: number } | null {
  const parts = cgPath.split('/');
  for (let i = parts.length - 2; i >= 0; i--) {
    if (parts[i + 1] !== 'rank') continue;
    const key = parseTaskCgroupName(parts[i]!);
    if (key) return key;
  }
  return null;
}

/** Of several ranks that match, the running one, else the one that ended last (pids are reused). */
function best(ranks: readonly KnownRank[]): KnownRank | undefined {
  let pick: KnownRank | undefined;
  for (const r of ranks) {
    if (!pick) pick = r;
    else if (r.endedMs === undefined && pick.endedMs !== undefined) pick = r;
    else if (r.endedMs !== undefined && pick.endedMs !== undefined && r.endedMs > pick.endedMs) pick = r;
  }
  return pick;
}

/**
 * A stop recorded up to this long after the XID still counts as before it: the XID's time comes from
 * the kernel's clock since boot, turned into wall-clock time with the uptime (10 ms steps).
 */
export const STOP_CLOCK_SLACK_MS = 250;

function judged(rank: KnownRank, by: AttributedBy, nowMs: number, ignoreAfterStopMs: number): XidAttribution {
  if (rank.stopMs !== undefined && rank.stopMs <= nowMs + STOP_CLOCK_SLACK_MS && nowMs - rank.stopMs <= ignoreAfterStopMs) {
    return { result: 'ignored-stopping', rank, by, stoppedAgoMs: Math.max(0, nowMs - rank.stopMs) };
  }
  return { result: 'attributed', rank, by };
}

export interface AttributeXidInput {
  /** The pid the XID message named; undefined: it named none (`pid='<unknown>'`). */
  pid: number | undefined;
  blamed: BlamedProcess | null;
  ranks: readonly KnownRank[];
  /** When the XID happened (unix ms): the kernel's time of a /dev/kmsg record, else when it was read. */
  nowMs: number;
  ignoreAfterStopMs: number;
}

export function attributeXid(input: AttributeXidInput): XidAttribution {
  const { pid, blamed, ranks, nowMs, ignoreAfterStopMs } = input;
  if (pid === undefined || !Number.isSafeInteger(pid) || pid <= 0) return { result: 'unattributed', reason: 'no-pid' };
  if (blamed) {
    for (const p of blamed.cgroupPaths) {
      const key = rankOfCgroupPath(p);
      if (!key) continue;
      const r = best(ranks.filter((x) => x.jobId === key.jobId && x.rank === key.rank && x.epoch === key.epoch));
      if (r) return judged(r, 'cgroup', nowMs, ignoreAfterStopMs);
    }
    const byGroup = blamed.pgid !== null ? best(ranks.filter((x) => x.pid === blamed.pgid)) : undefined;
    if (byGroup) return judged(byGroup, 'process-group', nowMs, ignoreAfterStopMs);
    const bySession = blamed.sid !== null ? best(ranks.filter((x) => x.pid === blamed.sid)) : undefined;
    if (bySession) return judged(bySession, 'session', nowMs, ignoreAfterStopMs);
  }
  const byPid = best(ranks.filter((x) => x.pid === pid));
  if (byPid) return judged(byPid, 'pid', nowMs, ignoreAfterStopMs);
  return { result: 'unattributed', reason: 'no-rank' };
}
