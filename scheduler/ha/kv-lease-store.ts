/**
 * The lease in a JetStream KV bucket (see lease-store.ts for the contract). On nats-server 2.9 a
 * key has no TTL of its own: the bucket's `ttl` (the stream's max age) is the lease's, so the
 * bucket holds this one key and nothing else. `history: 1`, replicas as configured (3 on a
 * 3-server cluster: the write is acknowledged once a quorum has it).
 *
 * `create` and `update` are JetStream publishes with an expected last subject sequence; the
 * server answers "wrong last sequence" (API error 10071) when it does not match, which is the
 * `held` / `conflict` outcome. Any other failure (no answer within `timeoutMs`, no quorum) throws.
 */
import type { KV, NatsConnection } from 'nats';
import { isWrongLastSequence } from './jetstream-errors.js';
import type { CreateResult, LeaseRecord, LeaseStore, UpdateResult } from './lease-store.js';

export interface KvLeaseOptions {
  bucket: string;
  key: string;
  ttlMs: number;
  replicas: number;
  /** How long a request waits for the server's answer. */
  timeoutMs: number;
}

export class KvLeaseStore implements LeaseStore {
  private constructor(
    private readonly kv: KV,
    private readonly key: string,
  ) {}

  /** Opens (or makes) the bucket. */
  static async open(nc: NatsConnection, o: KvLeaseOptions): Promise<KvLeaseStore> {
    const js = nc.jetstream({ timeout: o.timeoutMs });
    const kv = await js.views.kv(o.bucket, { ttl: o.ttlMs, history: 1, replicas: o.replicas, timeout: o.timeoutMs });
    return new KvLeaseStore(kv, o.key);
  }

  async create(value: string): Promise<CreateResult> {
    try {
      return { ok: true, revision: await this.kv.create(this.key, value) };
    } catch (e) {
      if (isWrongLastSequence(e)) return { ok: false, reason: 'held' };
      throw e;
    }
  }

  async update(value: string, revision: number): Promise<UpdateResult> {
    try {
      return { ok: true, revision: await this.kv.update(this.key, value, revision) };
    } catch (e) {
      if (isWrongLastSequence(e)) return { ok: false, reason: 'conflict' };
      throw e;
    }
  }

  async peek(): Promise<LeaseRecord | undefined> {
    const e = await this.kv.get(this.key);
    if (!e || e.operation !== 'PUT') return undefined;
    return { value: e.string(), revision: e.revision };
  }

  async close(): Promise<void> {}
}
