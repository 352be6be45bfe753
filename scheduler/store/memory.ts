import { TERMINAL_JOB_STATES, usageKey, type JobRecord, type NodeRecord, type UsageEntry } from '../../shared/domain/index.js';
import { jobNumber, type OutboxEntry, type StateStore, type StoreCommit } from './types.js';

/** In-memory twin of the LMDB store. Copies on the way in and out, like a real store would. */
export class MemoryStore implements StateStore {
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly jobs = new Map<string, JobRecord>();
  private closed = false;

  getNode(name: string): NodeRecord | undefined {
    const n = this.nodes.get(name);
    return n ? structuredClone(n) : undefined;
  }

  listNodes(): NodeRecord[] {
    return [...this.nodes.keys()].sort().map((k) => structuredClone(this.nodes.get(k)!));
  }

  putNodes(nodes: readonly NodeRecord[]): Promise<void> {
    return this.commit({ nodes });
  }

  async deleteNode(name: string): Promise<boolean> {
    this.assertOpen();
    return this.nodes.delete(name);
  }

  getJob(id: string): JobRecord | undefined {
    const j = this.jobs.get(id);
    return j ? structuredClone(j) : undefined;
  }

  listJobs(): JobRecord[] {
    return [...this.jobs.keys()].sort().map((k) => structuredClone(this.jobs.get(k)!));
  }

  listUnfinishedJobs(): JobRecord[] {
    return [...this.jobs.keys()].sort().filter((k) => !TERMINAL_JOB_STATES.has(this.jobs.get(k)!.state)).map((k) => structuredClone(this.jobs.get(k)!));
  }

  listJobIds(): string[] {
    return [...this.jobs.keys()].sort();
  }

  jobCount(): number {
    return this.jobs.size;
  }

  listJobsPage(after: string | undefined, limit: number): JobRecord[] {
    return this.listJobIds()
      .filter((k) => after === undefined || k > after)
      .slice(0, limit)
      .map((k) => structuredClone(this.jobs.get(k)!));
  }

  private highest = 0;

  highestJobNumber(): number {
    return this.highest;
  }

  private readonly usage = new Map<string, UsageEntry>();

  listUsage(kind?: UsageEntry['kind']): UsageEntry[] {
    return [...this.usage.keys()]
      .sort()
      .map((k) => this.usage.get(k)!)
      .filter((u) => kind === undefined || u.kind === kind)
      .map((u) => structuredClone(u));
  }

  usageCount(): number {
    return this.usage.size;
  }

  private readonly outbox: OutboxEntry[] = [];
  private seq = 0;

  outboxPeek(limit: number): OutboxEntry[] {
    return this.outbox.slice(0, limit).map((e) => ({ seq: e.seq, event: structuredClone(e.event) }));
  }

  async outboxAck(seq: number): Promise<void> {
    while (this.outbox.length > 0 && this.outbox[0]!.seq <= seq) this.outbox.shift();
  }

  outboxSize(): number {
    return this.outbox.length;
  }

  private logSeq = 0;

  appliedLogSeq(): number {
    return this.logSeq;
  }

  async commit(change: StoreCommit): Promise<void> {
    this.assertOpen();
    if (change.logSeq !== undefined) this.logSeq = change.logSeq;
    for (const e of change.events ?? []) this.outbox.push({ seq: ++this.seq, event: structuredClone(e) });
    for (const j of change.jobs ?? []) {
      this.jobs.set(j.id, structuredClone(j));
      this.highest = Math.max(this.highest, jobNumber(j.id));
    }
    for (const n of change.nodes ?? []) this.nodes.set(n.name, structuredClone(n));
    for (const k of change.usageDeletes ?? []) this.usage.delete(k);
    for (const u of change.usage ?? []) this.usage.set(usageKey(u), structuredClone(u));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }
}
