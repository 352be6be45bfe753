/**
 * The cluster utilisation view (`gantry usage --cluster`, like `sreport cluster utilization`),
 * pure: node entries (each node's state changes) and rank entries in, four GPU-ms figures out that
 * add up, exactly, to the cluster's GPU-ms over the window.
 *
 * The node's GPUs at each instant, while it is known (from its first node entry until one says
 * `gone`), go to the first of:
 *   allocated        a rank's process runs on them (its [start, end));
 *   reserved         placed for a rank whose process has not started (its [placed, start)): held, idle;
 *   down or drained  the node is lost, cordoned, draining or awaiting approval;
 *   idle             the rest.
 * allocated and reserved are capped at the node's GPUs (records of two runs overlapping on a
 * GPU — a stop not yet confirmed — count once). Everything is integer GPU-ms: the sum is exact.
 */
import type { NodeUsageEntry, RankUsageEntry } from '../../shared/domain/index.js';
import type { UsageWindow } from './report.js';

export interface Utilisation {
  totalGpuMs: number;
  allocatedGpuMs: number;
  reservedGpuMs: number;
  downOrDrainedGpuMs: number;
  idleGpuMs: number;
  nodes: number;
}

interface Delta {
  atMs: number;
  alloc: number;
  reserved: number;
}

export function clusterUtilisation(nodeEntries: Iterable<NodeUsageEntry>, rankEntries: Iterable<RankUsageEntry>, w: UsageWindow, nowMs: number): Utilisation {
  const out: Utilisation = { totalGpuMs: 0, allocatedGpuMs: 0, reservedGpuMs: 0, downOrDrainedGpuMs: 0, idleGpuMs: 0, nodes: 0 };
  const until = Math.min(w.untilMs, nowMs);
  if (until <= w.sinceMs) return out;
  const states = new Map<string, NodeUsageEntry[]>();
  for (const n of nodeEntries) {
    const list = states.get(n.node) ?? [];
    list.push(n);
    states.set(n.node, list);
  }
  const deltas = new Map<string, Delta[]>();
  const add = (node: string, a: number, b: number, alloc: number, reserved: number): void => {
    if (b <= a) return;
    const list = deltas.get(node) ?? [];
    list.push({ atMs: a, alloc, reserved }, { atMs: b, alloc: -alloc, reserved: -reserved });
    deltas.set(node, list);
  };
  for (const r of rankEntries) {
    const g = r.gpus.length;
    const end = r.endMs > 0 ? r.endMs : nowMs;
    if (r.startMs > 0) {
      if (r.placedMs > 0) add(r.node, r.placedMs, Math.min(r.startMs, end), 0, g);
      add(r.node, r.startMs, end, g, 0);
    } else if (r.placedMs > 0) {
      add(r.node, r.placedMs, end, 0, g);
    }
  }
  for (const [node, list] of states) {
    list.sort((a, b) => a.atMs - b.atMs);
    const d = (deltas.get(node) ?? []).sort((a, b) => a.atMs - b.atMs);
    const points = new Set<number>([w.sinceMs, until]);
    for (const s of list) if (s.atMs > w.sinceMs && s.atMs < until) points.add(s.atMs);
    for (const x of d) if (x.atMs > w.sinceMs && x.atMs < until) points.add(x.atMs);
    const times = [...points].sort((a, b) => a - b);
    let si = -1;
    let di = 0;
    let alloc = 0;
    let reserved = 0;
    let counted = false;
    for (let i = 0; i + 1 < times.length; i++) {
      const t1 = times[i]!;
      const len = times[i + 1]! - t1;
      while (si + 1 < list.length && list[si + 1]!.atMs <= t1) si++;
      while (di < d.length && d[di]!.atMs <= t1) {
        alloc += d[di]!.alloc;
        reserved += d[di]!.reserved;
        di++;
      }
      const s = si >= 0 ? list[si]! : undefined;
      if (!s || s.state === 'gone' || s.gpus <= 0) continue;
      counted = true;
      const g = s.gpus;
      const a = Math.min(g, Math.max(0, alloc));
      const r = Math.min(g - a, Math.max(0, reserved));
      const rest = g - a - r;
      out.totalGpuMs += g * len;
      out.allocatedGpuMs += a * len;
      out.reservedGpuMs += r * len;
      if (s.state === 'up') out.idleGpuMs += rest * len;
      else out.downOrDrainedGpuMs += rest * len;
    }
    if (counted) out.nodes++;
  }
  return out;
}
