/**
 * Usage accounting's shell (issue 23): the node history loaded and seeded at start, retention
 * pruned on a timer (usage.retentionDays), and the reports `gantry usage` asks for (GetUsage,
 * GetClusterUsage). Entries are read and written through the StateStore only, so a replicated
 * store (scheduler/ha) replicates them like the jobs they describe.
 */
import type { Clock } from '../../shared/clock/index.js';
import type { NodeRecord, NodeUsageEntry, RankUsageEntry, UsageEntry } from '../../shared/domain/index.js';
import type { Logger } from '../../shared/log/index.js';
import type { StateStore } from '../store/index.js';
import { NodeHistory } from './node-history.js';
import { usageReport, type UsageGroup, type UsageRow, type UsageWindow } from './report.js';
import { pruneKeys } from './retention.js';
import { clusterUtilisation, type Utilisation } from './utilisation.js';

export const DAY_MS = 86_400_000;
/** How often retention runs. */
export const USAGE_PRUNE_INTERVAL_MS = 3_600_000;
/**
 * The first prune, this long after start: a prune reads every usage entry (hundreds of thousands
 * for 100k jobs), which a restart must not wait for (the restart benchmark reads none of them).
 */
export const USAGE_FIRST_PRUNE_MS = 60_000;
/** Keys deleted per store write while pruning (one write per chunk: a big first prune does not hold one huge transaction). */
const PRUNE_CHUNK = 5_000;

export interface UsageServiceOptions {
  retentionDays: number;
  pruneIntervalMs?: number;
}

export class UsageService {
  readonly nodeHistory = new NodeHistory();
  private timer: NodeJS.Timeout | undefined;
  private first: NodeJS.Timeout | undefined;
  private pruning: Promise<number> | undefined;

  constructor(
    private readonly opts: UsageServiceOptions,
    private readonly deps: { store: StateStore; clock: Clock; log: Logger },
  ) {}

  /**
   * Loads the node history and writes an entry for every node whose stored state differs from the
   * last entry (a store from before usage accounting, or a change while no scheduler ran); then
   * prunes a minute later and every pruneIntervalMs.
   */
  async start(nodes: readonly NodeRecord[]): Promise<void> {
    this.nodeHistory.load(this.deps.store.listUsage('node') as NodeUsageEntry[]);
    const seed = this.nodeHistory.changes(nodes, this.deps.clock.nowMs());
    // A failed seed costs only the node history until the node's next change: the scheduler starts anyway.
    if (seed.length > 0) await this.deps.store.commit({ usage: seed }).catch((e: unknown) => this.deps.log.warn({ err: (e as Error).message, nodes: seed.length }, 'could not write the node history at start'));
    const every = this.opts.pruneIntervalMs ?? USAGE_PRUNE_INTERVAL_MS;
    this.first = setTimeout(() => void this.prune(), Math.min(every, USAGE_FIRST_PRUNE_MS));
    this.first.unref();
    this.timer = setInterval(() => void this.prune(), every);
    this.timer.unref();
  }

  stop(): Promise<number> {
    if (this.first) clearTimeout(this.first);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return this.pruning ?? Promise.resolve(0);
  }

  /** Deletes what retention lets go; resolves to how many entries. One prune at a time. */
  prune(): Promise<number> {
    this.pruning ??= this.pruneNow()
      .catch((e: unknown) => {
        this.deps.log.warn({ err: (e as Error).message }, 'pruning usage entries failed; tried again at the next interval');
        return 0;
      })
      .finally(() => (this.pruning = undefined));
    return this.pruning;
  }

  private async pruneNow(): Promise<number> {
    const cutoff = this.deps.clock.nowMs() - this.opts.retentionDays * DAY_MS;
    const keys = pruneKeys(this.deps.store.listUsage(), cutoff);
    for (let i = 0; i < keys.length; i += PRUNE_CHUNK) await this.deps.store.commit({ usageDeletes: keys.slice(i, i + PRUNE_CHUNK) });
    if (keys.length > 0) this.deps.log.info({ deleted: keys.length, before: new Date(cutoff).toISOString() }, 'pruned usage entries');
    return keys.length;
  }

  /** `gantry usage --by`: rows for the window; `user`: that user's entries only. */
  report(by: UsageGroup, w: UsageWindow, user?: string): UsageRow[] {
    return usageReport(this.ranks(), by, w, this.deps.clock.nowMs(), user);
  }

  /** `gantry usage --cluster`: allocated, reserved, down-or-drained and idle GPU-ms adding up to the total. */
  cluster(w: UsageWindow): Utilisation {
    return clusterUtilisation(this.deps.store.listUsage('node') as NodeUsageEntry[], this.ranks(), w, this.deps.clock.nowMs());
  }

  private ranks(): RankUsageEntry[] {
    return this.deps.store.listUsage('rank').filter((e: UsageEntry): e is RankUsageEntry => e.kind === 'rank');
  }
}
