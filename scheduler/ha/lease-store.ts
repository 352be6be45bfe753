/**
 * Where the lease lives: one key with a compare-and-set on its revision and a time to live.
 * Outcomes are values (`held`, `conflict`); only a failure to get an answer throws. Two
 * implementations with one contract test (test/scheduler/ha/lease-store.test.ts): a JetStream KV
 * bucket (kv-lease-store.ts) and the in-memory twin below.
 */
import type { Clock } from '../../shared/clock/index.js';

export type CreateResult = { ok: true; revision: number } | { ok: false; reason: 'held' };
export type UpdateResult = { ok: true; revision: number } | { ok: false; reason: 'conflict' };

export interface LeaseRecord {
  value: string;
  revision: number;
}

export interface LeaseStore {
  /** Writes the key if it is absent (never written, or expired); its revision is the new term. */
  create(value: string): Promise<CreateResult>;
  /** Rewrites the key if its revision is still `revision` (and it has not expired). */
  update(value: string, revision: number): Promise<UpdateResult>;
  /** The key as a server last saw it: for display only (it may be stale), never to decide leadership. */
  peek(): Promise<LeaseRecord | undefined>;
  close(): Promise<void>;
}

/**
 * The in-memory twin: one key in this process, expiring `ttlMs` after its last write by `clock`.
 * Revisions grow by one per write, as a stream's sequence does.
 */
export class MemoryLeaseStore implements LeaseStore {
  private rec: (LeaseRecord & { writtenMs: number }) | undefined;
  private seq = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {}

  private live(): (LeaseRecord & { writtenMs: number }) | undefined {
    if (this.rec && this.clock.nowMs() >= this.rec.writtenMs + this.ttlMs) this.rec = undefined;
    return this.rec;
  }

  async create(value: string): Promise<CreateResult> {
    if (this.live()) return { ok: false, reason: 'held' };
    this.rec = { value, revision: ++this.seq, writtenMs: this.clock.nowMs() };
    return { ok: true, revision: this.rec.revision };
  }

  async update(value: string, revision: number): Promise<UpdateResult> {
    const cur = this.live();
    if (!cur || cur.revision !== revision) return { ok: false, reason: 'conflict' };
    this.rec = { value, revision: ++this.seq, writtenMs: this.clock.nowMs() };
    return { ok: true, revision: this.rec.revision };
  }

  async peek(): Promise<LeaseRecord | undefined> {
    const cur = this.live();
    return cur ? { value: cur.value, revision: cur.revision } : undefined;
  }

  async close(): Promise<void> {}
}
