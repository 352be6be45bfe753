/**
 * Node history entries and retention (issue 23 point 1), pure.
 *
 * - nodeEntry: the node entry a change of a node's record writes, when its state for accounting
 *   or its GPU count changed (or it is new).
 * - pruneKeys: what usage.retentionDays lets go. A rank entry goes once it ended before the
 *   cutoff (an open one stays, however old). A node's entries before the cutoff go except the
 *   last of them, which says what the node was at the cutoff (it goes too when it says `gone`).
 */
import { usageKey, type NodeRecord, type NodeUsageEntry, type NodeUsageState, type UsageEntry } from '../../shared/domain/index.js';

export function nodeUsageState(n: Pick<NodeRecord, 'connectivity' | 'schedulability' | 'awaitingApproval'>): NodeUsageState {
  if (n.connectivity === 'lost') return 'down';
  if (n.schedulability !== 'schedulable' || n.awaitingApproval) return 'drained';
  return 'up';
}

/** The entry to write for `next` (undefined: deleted) given the node's last entry, or undefined when nothing changed for accounting. */
export function nodeEntry(last: Pick<NodeUsageEntry, 'state' | 'gpus'> | undefined, name: string, next: NodeRecord | undefined, atMs: number): NodeUsageEntry | undefined {
  const state: NodeUsageState = next ? nodeUsageState(next) : 'gone';
  const gpus = next ? next.inventory.gpus.length : 0;
  if (last ? last.state === state && last.gpus === gpus : state === 'gone') return undefined;
  return { kind: 'node', node: name, atMs, state, gpus };
}

export function pruneKeys(entries: Iterable<UsageEntry>, cutoffMs: number): string[] {
  const out: string[] = [];
  const lastBefore = new Map<string, NodeUsageEntry>();
  for (const e of entries) {
    if (e.kind === 'rank') {
      if (e.endMs > 0 && e.endMs < cutoffMs) out.push(usageKey(e));
      continue;
    }
    if (e.atMs >= cutoffMs) continue;
    const prev = lastBefore.get(e.node);
    if (!prev || prev.atMs <= e.atMs) {
      if (prev) out.push(usageKey(prev));
      lastBefore.set(e.node, e);
    } else {
      out.push(usageKey(e));
    }
  }
  for (const e of lastBefore.values()) if (e.state === 'gone') out.push(usageKey(e));
  return out;
}
