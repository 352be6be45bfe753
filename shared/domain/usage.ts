/**
 * Usage accounting (issue 23): what the scheduler keeps of who used which GPUs, for how long.
 * Two kinds of entry share one store keyspace (StateStore.listUsage):
 *
 * - a rank entry per rank and run (job, placement epoch, rank): placed, started and ended (unix ms),
 *   node, GPUs, how it ended and what its agent measured. Written when the rank is placed, when it
 *   starts and when it ends; its key makes a rewrite replace, never double.
 * - a node entry per change of a node's state for accounting (up, drained, down, gone) and of its
 *   GPU count: the cluster utilisation view's node history.
 */

/** How a node counts for utilisation: up (takes work), drained (cordoned, draining, awaiting approval), down (lost), gone (deleted). */
export type NodeUsageState = 'up' | 'drained' | 'down' | 'gone';
export const NODE_USAGE_STATES: readonly NodeUsageState[] = ['up', 'drained', 'down', 'gone'];

export interface RankUsageEntry {
  kind: 'rank';
  jobId: string;
  /** The placement epoch the rank ran in (a requeued job runs again in a new one). */
  epoch: number;
  rank: number;
  /** The job's owner. */
  user: string;
  queue: string;
  node: string;
  /** GPU indexes on the node. */
  gpus: number[];
  /** When the job was submitted (unix ms): waiting time is start − submitted. */
  submittedMs: number;
  /** When the scheduler placed the rank (its GPUs reserved from then); 0: not known (then its start). */
  placedMs: number;
  /** When its process started, as its agent measured it; 0: not started (yet). */
  startMs: number;
  /** When it ended: its agent's measure of the exit, or when the scheduler gave it up; 0: still running. */
  endMs: number;
  /** How endMs was learnt: `exit` (the agent's report), `stopped` (the job left its run; no exit heard yet), `lost` (the scheduler gave it up: node lost, rank gone, placed again). */
  endSource?: 'exit' | 'stopped' | 'lost';
  exitCode: number | null;
  signal: string | null;
  /** How it ended when not by its own exit (timeout, oom, stopped), or why it never started ('failed-to-start'). */
  cause?: string;
  /** CPU time (user + system) in microseconds, where its agent measured it (rank cgroups). */
  cpuUsec?: number;
  memoryPeakBytes?: number;
}

export interface NodeUsageEntry {
  kind: 'node';
  node: string;
  /** From when (unix ms) the node is in this state with this many GPUs, until its next entry. */
  atMs: number;
  state: NodeUsageState;
  gpus: number;
}

export type UsageEntry = RankUsageEntry | NodeUsageEntry;

/** The store key of an entry (key order groups a job's ranks, and a node's changes in time order). */
export function usageKey(e: UsageEntry): string {
  if (e.kind === 'rank') return `r/${e.jobId}/${String(e.epoch).padStart(6, '0')}/${String(e.rank).padStart(6, '0')}`;
  return `n/${e.node}/${String(e.atMs).padStart(15, '0')}`;
}
