import { open, type Database, type RootDatabase } from 'lmdb';
import { TERMINAL_JOB_STATES, usageKey, type JobRecord, type NodeRecord, type UsageEntry } from '../../shared/domain/index.js';
import { StoreError } from '../../shared/errors/index.js';
import type { GantryEvent } from '../../shared/events/index.js';
import { jobNumber, STORE_SCHEMA_VERSION, type OutboxEntry, type StateStore, type StoreCommit } from './types.js';

interface StoredNode {
  v: number;
  node: NodeRecord;
}

interface StoredJob {
  v: number;
  job: JobRecord;
}

/**
 * LMDB-backed state store: one environment under dataDir, one named database per record kind, and
 * `jobs-unfinished`, the ids of jobs not in a terminal state (kept in the same transactions as the
 * jobs), so a restart reads those records only. A store written before that index existed gets it
 * built once, at open (meta `unfinishedIndex`).
 *
 * Job records are stored as JSON (`jobs-json`, schema 2): V8's native JSON.parse decodes a cold
 * process's first thousands of records several times faster than msgpackr, whose per-record
 * structure definitions (no shared structures) keep it on its slow path; a restart decodes every
 * unfinished job before it serves. A schema-1 store (msgpack `jobs`) is converted once, at open.
 */
export class LmdbStore implements StateStore {
  private constructor(
    private readonly root: RootDatabase,
    private readonly nodes: Database<StoredNode, string>,
    private readonly jobs: Database<StoredJob, string>,
    private readonly unfinished: Database<number, string>,
    private readonly outbox: Database<GantryEvent, number>,
    private readonly meta: Database<number, string>,
    private readonly usage: Database<UsageEntry, string>,
  ) {
    this.highest = meta.get('highestJobNumber') ?? 0;
    // Outbox keys grow from the highest one left (ordered-binary numeric keys sort numerically).
    for (const key of outbox.getKeys({ reverse: true, limit: 1 })) this.seq = key;
    this.size = outbox.getCount();
  }

  private seq = 0;
  private size = 0;
  private highest = 0;

  static open(dataDir: string): LmdbStore {
    try {
      const root = open({ path: dataDir, compression: false });
      const meta = root.openDB<number, string>({ name: 'meta' });
      const version = meta.get('schemaVersion');
      if (version !== undefined && version > STORE_SCHEMA_VERSION) {
        root.close();
        throw new StoreError(`store in ${dataDir} has schema ${version}, newer than this build's ${STORE_SCHEMA_VERSION}`);
      }
      const nodes = root.openDB<StoredNode, string>({ name: 'nodes' });
      const jobs = root.openDB<StoredJob, string>({ name: 'jobs-json', encoding: 'json' });
      const unfinished = root.openDB<number, string>({ name: 'jobs-unfinished' });
      if (version !== undefined && version < 2) {
        // Schema 1 kept job records as msgpack in `jobs`: convert them once, in one transaction.
        const old = root.openDB<StoredJob, string>({ name: 'jobs' });
        root.transactionSync(() => {
          for (const { key, value } of old.getRange()) jobs.putSync(key, { v: STORE_SCHEMA_VERSION, job: value.job });
          old.clearSync();
          meta.putSync('schemaVersion', STORE_SCHEMA_VERSION);
        });
      }
      if (version === undefined) meta.putSync('schemaVersion', STORE_SCHEMA_VERSION);
      if (meta.get('unfinishedIndex') === undefined) {
        root.transactionSync(() => {
          for (const { key, value } of jobs.getRange()) if (!TERMINAL_JOB_STATES.has(value.job.state)) unfinished.putSync(key, 1);
          meta.putSync('unfinishedIndex', 1);
        });
      }
      if (meta.get('highestJobNumber') === undefined) {
        // A store from before this key: found once from the ids.
        let highest = 0;
        for (const id of jobs.getKeys()) highest = Math.max(highest, jobNumber(id));
        meta.putSync('highestJobNumber', highest);
      }
      const outbox = root.openDB<GantryEvent, number>({ name: 'outbox' });
      // Usage entries (issue 23): JSON like the jobs; keys usageKey(), nothing of them read at open.
      const usage = root.openDB<UsageEntry, string>({ name: 'usage', encoding: 'json' });
      return new LmdbStore(root, nodes, jobs, unfinished, outbox, meta, usage);
    } catch (e) {
      if (e instanceof StoreError) throw e;
      throw new StoreError(`cannot open the store in ${dataDir}: ${(e as Error).message}`, { cause: e });
    }
  }

  getNode(name: string): NodeRecord | undefined {
    return this.nodes.get(name)?.node;
  }

  listNodes(): NodeRecord[] {
    const out: NodeRecord[] = [];
    for (const { value } of this.nodes.getRange()) out.push(value.node);
    return out;
  }

  putNodes(nodes: readonly NodeRecord[]): Promise<void> {
    return this.commit({ nodes });
  }

  async deleteNode(name: string): Promise<boolean> {
    // lmdb's remove() resolves true whether or not the key existed; the contract says whether it did.
    return this.root.transaction(() => {
      if (this.nodes.get(name) === undefined) return false;
      void this.nodes.remove(name);
      return true;
    });
  }

  getJob(id: string): JobRecord | undefined {
    return this.jobs.get(id)?.job;
  }

  listJobs(): JobRecord[] {
    const out: JobRecord[] = [];
    for (const { value } of this.jobs.getRange()) out.push(value.job);
    return out;
  }

  listUnfinishedJobs(): JobRecord[] {
    const out: JobRecord[] = [];
    for (const id of this.unfinished.getKeys()) {
      const j = this.jobs.get(id)?.job;
      if (j) out.push(j);
    }
    return out;
  }

  listJobIds(): string[] {
    return [...this.jobs.getKeys()];
  }

  jobCount(): number {
    return this.jobs.getCount();
  }

  listJobsPage(after: string | undefined, limit: number): JobRecord[] {
    const out: JobRecord[] = [];
    for (const { key, value } of this.jobs.getRange(after === undefined ? { limit: limit + 1 } : { start: after, limit: limit + 1 })) {
      if (key === after) continue;
      if (out.length < limit) out.push(value.job);
    }
    return out;
  }

  highestJobNumber(): number {
    return this.highest;
  }

  listUsage(kind?: UsageEntry['kind']): UsageEntry[] {
    const range = kind === undefined ? {} : { start: kind === 'rank' ? 'r/' : 'n/', end: kind === 'rank' ? 'r0' : 'n0' };
    const out: UsageEntry[] = [];
    for (const { value } of this.usage.getRange(range)) out.push(value);
    return out;
  }

  usageCount(): number {
    return this.usage.getCount();
  }

  outboxPeek(limit: number): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    for (const { key, value } of this.outbox.getRange({ limit })) out.push({ seq: key, event: value });
    return out;
  }

  async outboxAck(seq: number): Promise<void> {
    const keys = [...this.outbox.getKeys({ end: seq + 1 })];
    if (keys.length === 0) return;
    await this.root.transaction(() => {
      for (const k of keys) void this.outbox.remove(k);
    });
    this.size = Math.max(0, this.size - keys.length);
  }

  outboxSize(): number {
    return this.size;
  }

  appliedLogSeq(): number {
    return this.meta.get('appliedLogSeq') ?? 0;
  }

  async commit(change: StoreCommit): Promise<void> {
    const events = change.events ?? [];
    const first = this.seq + 1;
    this.seq += events.length;
    let highest = this.highest;
    for (const j of change.jobs ?? []) highest = Math.max(highest, jobNumber(j.id));
    const raised = highest > this.highest;
    this.highest = highest;
    await this.root.transaction(() => {
      if (raised) void this.meta.put('highestJobNumber', highest);
      if (change.logSeq !== undefined) void this.meta.put('appliedLogSeq', change.logSeq);
      events.forEach((e, i) => void this.outbox.put(first + i, e));
      for (const j of change.jobs ?? []) {
        void this.jobs.put(j.id, { v: STORE_SCHEMA_VERSION, job: j });
        if (TERMINAL_JOB_STATES.has(j.state)) void this.unfinished.remove(j.id);
        else void this.unfinished.put(j.id, 1);
      }
      for (const n of change.nodes ?? []) void this.nodes.put(n.name, { v: STORE_SCHEMA_VERSION, node: n });
      for (const k of change.usageDeletes ?? []) void this.usage.remove(k);
      for (const u of change.usage ?? []) void this.usage.put(usageKey(u), u);
    });
    this.size += events.length;
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
