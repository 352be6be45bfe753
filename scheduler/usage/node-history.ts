/**
 * Each node's last usage state (issue 23: the cluster utilisation view's node history), kept in
 * memory from the stored node entries; pure (the time comes in). The node registry asks it, for
 * every node record it writes, which node entries go into the same store write.
 */
import type { NodeRecord, NodeUsageEntry } from '../../shared/domain/index.js';
import { nodeEntry } from './retention.js';

export class NodeHistory {
  private readonly last = new Map<string, NodeUsageEntry>();

  /** Loads the stored node entries (any order): the latest of each node is its state now. */
  load(entries: Iterable<NodeUsageEntry>): void {
    for (const e of entries) {
      const had = this.last.get(e.node);
      if (!had || had.atMs <= e.atMs) this.last.set(e.node, e);
    }
  }

  /** The entries for nodes whose state for accounting or GPU count changed (or that are new); noted as written. */
  changes(nodes: Iterable<NodeRecord>, atMs: number): NodeUsageEntry[] {
    const out: NodeUsageEntry[] = [];
    for (const n of nodes) this.note(nodeEntry(this.last.get(n.name), n.name, n, atMs), out);
    return out;
  }

  /** The entry for a deleted node (state gone), if it had one. */
  deleted(name: string, atMs: number): NodeUsageEntry[] {
    const out: NodeUsageEntry[] = [];
    this.note(nodeEntry(this.last.get(name), name, undefined, atMs), out);
    return out;
  }

  private note(e: NodeUsageEntry | undefined, out: NodeUsageEntry[]): void {
    if (!e) return;
    // Two changes in one millisecond: the later one's key replaces the earlier's (same atMs).
    this.last.set(e.node, e);
    out.push(e);
  }
}
