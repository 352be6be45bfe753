/**
 * A StateStore whose writes are committed to the replicated state stream first (issue 21, point 3).
 *
 * The scheduler's code writes through StateStore (commit, putNodes, deleteNode, outboxAck) and
 * reads from it; this store keeps that contract, so a leader's job manager and node registry work
 * unchanged. A write is:
 *   1. appended to the stream (term-log.ts) with the sequence this store last knew and its term,
 *      and acknowledged by a quorum of the servers: that is its commit;
 *   2. then applied to the local store (LMDB: the local snapshot) with that sequence.
 * Only then does the write resolve, so the commands that follow a commit (StartTask...) go out
 * after the append is acknowledged. An append refused as stale means another scheduler has
 * written since: this one is deposed, the write changes nothing here, and it throws NotLeaderError
 * (as every write does while this store is not leading).
 *
 * A standby follows: `catchUp()` applies the entries after the local store's applied sequence. A
 * new leader catches up to the head, then appends its `term` record, which fences the old leader
 * (term-log.ts), before `lead()` resolves. Where the stream was compacted past what the local store
 * has (a new scheduler, or one restarted after a long time), the latest snapshot replaces the local
 * state first, then the tail after it is applied.
 *
 * Outbox acknowledgements are not appended on their own: the id of the last event published rides
 * on the next commit (`ackedThrough`), or on an entry of its own at a leader's close, and followers
 * trim their outbox to it. After a crash a new leader may republish the events the old one had
 * published since its last commit; NATS drops those by event id within the events stream's
 * duplicate window.
 *
 * Writes are serialized (each names the sequence before it). Reads go to the local store.
 */
import { usageKey, type JobRecord, type NodeRecord, type UsageEntry } from '../../shared/domain/index.js';
import { NotLeaderError, StoreError } from '../../shared/errors/index.js';
import type { OutboxEntry, StateStore, StoreCommit } from '../store/index.js';
import { commitEntry, decodeChange, encodeChange, type CommitChange, type StoreChange } from './change.js';
import type { Snapshot, SnapshotStore } from './snapshots.js';
import type { TermLog } from './term-log.js';

export interface ReplicatedStoreOptions {
  log: TermLog;
  local: StateStore;
  snapshots: SnapshotStore;
  /** Entries read per request while catching up. */
  readBatch?: number;
  /** Called once when an append is refused as stale (this scheduler was deposed). */
  onDeposed?: (term: number) => void;
}

interface PendingCommit {
  change: StoreCommit;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class ReplicatedStore implements StateStore {
  private leading: { term: number; lastSeq: number } | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  /** The id of the last event the leader published, sent on the next commit. */
  private ackedThrough: string | undefined;
  /** Whether ackedThrough has been appended since it last moved. */
  private ackSent = true;
  private readonly local: StateStore;
  /** Commits waiting for their turn, sharing one append (see commit). */
  private group: PendingCommit[] | undefined;

  constructor(private readonly o: ReplicatedStoreOptions) {
    this.local = o.local;
  }

  /** The term this store writes in; undefined while it follows. */
  term(): number | undefined {
    return this.leading?.term;
  }

  /**
   * Applies every entry after the local store's applied sequence (restoring the snapshot first
   * where the stream no longer has them). Returns how many entries it applied.
   */
  catchUp(): Promise<number> {
    return this.serial(async () => this.catchUpNow());
  }

  /**
   * Catches up to the head, then appends the term record: from then on this store writes in `term`
   * and a deposed leader's appends are refused. Throws NotLeaderError if another scheduler keeps
   * appending (it could not get the term record in).
   */
  lead(term: number, holder: string): Promise<void> {
    return this.serial(async () => {
      for (let attempt = 0; attempt < 5; attempt++) {
        await this.catchUpNow();
        const last = this.local.appliedLogSeq();
        const r = await this.o.log.append(term, encodeChange({ op: 'term', term, holder }), last);
        if (r.ok) {
          await this.local.commit({ logSeq: r.seq });
          this.leading = { term, lastSeq: r.seq };
          return;
        }
      }
      throw new NotLeaderError(`could not start term ${term}: another scheduler keeps writing to the state stream`);
    });
  }

  /** Stops writing (the lease was lost): every later write throws NotLeaderError until lead() again. */
  follow(): void {
    this.leading = undefined;
  }

  /** Saves a snapshot at the applied sequence and drops the stream's entries up to it (leader only). */
  snapshot(): Promise<Snapshot> {
    return this.serial(async () => {
      if (!this.leading) throw new NotLeaderError('only the leader snapshots the state');
      const s: Snapshot = {
        seq: this.local.appliedLogSeq(),
        nodes: this.local.listNodes(),
        jobs: this.local.listJobs(),
        events: this.local.outboxPeek(this.local.outboxSize()).map((e) => e.event),
        usage: this.local.listUsage(),
      };
      await this.o.snapshots.save(s);
      await this.o.log.compact(s.seq);
      return s;
    });
  }

  // Reads: the local store.
  getNode(name: string): NodeRecord | undefined {
    return this.local.getNode(name);
  }
  listNodes(): NodeRecord[] {
    return this.local.listNodes();
  }
  getJob(id: string): JobRecord | undefined {
    return this.local.getJob(id);
  }
  listJobs(): JobRecord[] {
    return this.local.listJobs();
  }
  listUnfinishedJobs(): JobRecord[] {
    return this.local.listUnfinishedJobs();
  }
  listJobIds(): string[] {
    return this.local.listJobIds();
  }
  jobCount(): number {
    return this.local.jobCount();
  }
  listJobsPage(after: string | undefined, limit: number): JobRecord[] {
    return this.local.listJobsPage(after, limit);
  }
  highestJobNumber(): number {
    return this.local.highestJobNumber();
  }
  listUsage(kind?: UsageEntry['kind']): UsageEntry[] {
    return this.local.listUsage(kind);
  }
  usageCount(): number {
    return this.local.usageCount();
  }
  outboxPeek(limit: number): OutboxEntry[] {
    return this.local.outboxPeek(limit);
  }
  outboxSize(): number {
    return this.local.outboxSize();
  }
  appliedLogSeq(): number {
    return this.local.appliedLogSeq();
  }
  /** The state stream's last sequence now (a read of the stream's info; for a standby's lag). */
  headSeq(): Promise<number> {
    return this.o.log.lastSeq();
  }

  // Writes: the stream first.
  putNodes(nodes: readonly NodeRecord[]): Promise<void> {
    return this.commit({ nodes });
  }

  /**
   * Group commit: commits made while an append is in flight (or queued) share the next append, one
   * `batch` entry applied in their order, as LMDB shares one transaction among concurrent writes.
   * Each resolves once that entry is acknowledged and applied locally. Any other write (a node
   * delete, an acknowledgement, a catch-up) closes the open group, so nothing is reordered around it.
   */
  commit(change: StoreCommit): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.group) {
        this.group.push({ change, resolve, reject });
        return;
      }
      const group: PendingCommit[] = [{ change, resolve, reject }];
      this.group = group;
      this.chained(async () => {
        if (this.group === group) this.group = undefined;
        const commits = group.map((g) => commitEntry(g.change));
        const entry: StoreChange = commits.length === 1 ? commits[0]! : { op: 'batch', commits };
        const last = commits[commits.length - 1]!;
        if (this.ackedThrough) last.ackedThrough = this.ackedThrough;
        const seq = await this.append(entry);
        this.ackSent = true;
        // Issued together, in order: LMDB applies them in that order and shares one transaction among them.
        await Promise.all(group.map((g) => this.local.commit({ ...g.change, logSeq: seq })));
      }).then(
        () => group.forEach((g) => g.resolve()),
        (e: unknown) => group.forEach((g) => g.reject(e)),
      );
    });
  }

  deleteNode(name: string): Promise<boolean> {
    return this.serial(async () => {
      this.assertLeading();
      if (!this.local.getNode(name)) return false;
      const seq = await this.append({ op: 'delete-node', name });
      const deleted = await this.local.deleteNode(name);
      await this.local.commit({ logSeq: seq });
      return deleted;
    });
  }

  /** Local only: the acknowledgement rides on the next commit (see the head comment). */
  outboxAck(seq: number): Promise<void> {
    return this.serial(async () => {
      // The outbox's sequence numbers are consecutive from its oldest entry: read only the entries acknowledged.
      const first = this.local.outboxPeek(1)[0];
      const last = first && first.seq <= seq ? this.local.outboxPeek(seq - first.seq + 1).at(-1) : undefined;
      if (last) {
        this.ackedThrough = last.event.id;
        this.ackSent = false;
      }
      await this.local.outboxAck(seq);
    });
  }

  /** A leader's close appends the last acknowledgement, so a graceful hand-over republishes nothing. */
  close(): Promise<void> {
    return this.serial(async () => {
      if (this.leading && !this.ackSent && this.ackedThrough) {
        await this.append({ op: 'commit', ackedThrough: this.ackedThrough }).catch(() => undefined);
      }
      this.leading = undefined;
      await this.o.log.close();
      await this.local.close();
    });
  }

  private assertLeading(): { term: number; lastSeq: number } {
    if (!this.leading) throw new NotLeaderError('this scheduler is not the leader: it writes nothing');
    return this.leading;
  }

  private async append(change: StoreChange): Promise<number> {
    const leading = this.assertLeading();
    const r = await this.o.log.append(leading.term, encodeChange(change), leading.lastSeq);
    if (!r.ok) {
      this.leading = undefined;
      this.o.onDeposed?.(leading.term);
      throw new NotLeaderError(`deposed from term ${leading.term}: another scheduler has written to the state stream since sequence ${leading.lastSeq}`);
    }
    leading.lastSeq = r.seq;
    return r.seq;
  }

  private async catchUpNow(): Promise<number> {
    let applied = 0;
    const first = await this.o.log.firstSeq();
    if (this.local.appliedLogSeq() < first - 1) await this.restore(first);
    for (;;) {
      const entries = await this.o.log.read(this.local.appliedLogSeq(), this.o.readBatch ?? 512);
      if (entries.length === 0) return applied;
      for (const e of entries) {
        await this.apply(decodeChange(e.data, e.seq), e.seq);
        applied++;
      }
    }
  }

  /**
   * Replaces the local state with the latest snapshot (the stream no longer has the entries after
   * the local store's position). The local store's history is a prefix of the snapshot's: every
   * job in it is in the snapshot (jobs are never deleted), nodes deleted since go, and the outbox
   * becomes the snapshot's.
   */
  private async restore(first: number): Promise<void> {
    const s = await this.o.snapshots.load();
    if (!s || s.seq < first - 1) throw new StoreError(`the state stream starts at ${first} and no snapshot covers what comes before it`);
    const keep = new Set(s.nodes.map((n) => n.name));
    for (const n of this.local.listNodes()) if (!keep.has(n.name)) await this.local.deleteNode(n.name);
    const outbox = this.local.outboxPeek(this.local.outboxSize());
    if (outbox.length > 0) await this.local.outboxAck(outbox[outbox.length - 1]!.seq);
    // Usage entries: the snapshot's replace the local ones (those it lacks were pruned).
    const usage = s.usage ?? [];
    const kept = new Set(usage.map(usageKey));
    const usageDeletes = this.local.listUsage().map(usageKey).filter((k) => !kept.has(k));
    await this.local.commit({ nodes: s.nodes, jobs: s.jobs, events: s.events, usage, usageDeletes, logSeq: s.seq });
  }

  private async applyCommit(c: CommitChange, seq: number): Promise<void> {
    if (c.ackedThrough) {
      const upTo = this.local.outboxPeek(this.local.outboxSize()).find((e) => e.event.id === c.ackedThrough);
      if (upTo) await this.local.outboxAck(upTo.seq);
    }
    await this.local.commit({ jobs: c.jobs, nodes: c.nodes, events: c.events, usage: c.usage, usageDeletes: c.usageDeletes, logSeq: seq });
  }

  private async apply(c: StoreChange, seq: number): Promise<void> {
    switch (c.op) {
      case 'term':
        await this.local.commit({ logSeq: seq });
        return;
      case 'commit':
        await this.applyCommit(c, seq);
        return;
      case 'batch':
        for (const one of c.commits) await this.applyCommit(one, seq);
        return;
      case 'delete-node':
        await this.local.deleteNode(c.name);
        await this.local.commit({ logSeq: seq });
        return;
    }
  }

  /** Every write but a commit: closes the open commit group first (see commit). */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    this.group = undefined;
    return this.chained(f);
  }

  private chained<T>(f: () => Promise<T>): Promise<T> {
    const run = this.chain.then(f, f);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
