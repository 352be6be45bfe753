/** A finished rank's usage (TaskUsage) between its value and the wire, for TaskStatus and RankPlacement. */
import type { RankUsage } from '../domain/index.js';
import type { PbTaskUsage, PbTaskUsageOut } from '../proto/index.js';

export function usageToPb(u: RankUsage): PbTaskUsage {
  return {
    hasCpuUsec: u.cpuUsec !== null,
    cpuUsec: u.cpuUsec ?? 0,
    hasMemoryPeakBytes: u.memoryPeakBytes !== null,
    memoryPeakBytes: u.memoryPeakBytes ?? 0,
    hasOomKills: u.oomKills !== null,
    oomKills: u.oomKills ?? 0,
  };
}

/** TaskUsage from the wire: a value whose presence flag is off is null (not measured), not 0. */
export function usageFromPb(pb: PbTaskUsageOut | null | undefined): RankUsage | undefined {
  if (!pb) return undefined;
  const num = (has: boolean, v: number | string): number | null => (has ? Number(v) : null);
  return { cpuUsec: num(pb.hasCpuUsec, pb.cpuUsec), memoryPeakBytes: num(pb.hasMemoryPeakBytes, pb.memoryPeakBytes), oomKills: num(pb.hasOomKills, pb.oomKills) };
}
