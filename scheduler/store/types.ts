import type { JobRecord, NodeRecord, UsageEntry } from '../../shared/domain/index.js';
import type { GantryEvent } from '../../shared/events/index.js';

/** What one commit writes, in one transaction. */
export interface StoreCommit {
  jobs?: readonly JobRecord[];
  nodes?: readonly NodeRecord[];
  events?: readonly GantryEvent[];
  /** Usage entries to write (issue 23), each replacing the one of its key (usageKey). */
  usage?: readonly UsageEntry[];
  /** Usage entries to delete, by key (retention). Applied before `usage`. */
  usageDeletes?: readonly string[];
  /** Set by a replicated store: the state-stream entry this commit applies (stored with it). */
  logSeq?: number;
}

/** One event waiting in the outbox, in commit order. */
export interface OutboxEntry {
  seq: number;
  event: GantryEvent;
}

/**
 * The scheduler's durable state. Implementations: LMDB (production) and an in-memory twin (tests,
 * simulation); one contract test (test/scheduler/store/contract.test.ts) runs against both.
 * Reads are synchronous (LMDB reads are memory-mapped); writes resolve once durable.
 */
export interface StateStore {
  getNode(name: string): NodeRecord | undefined;
  listNodes(): NodeRecord[];
  /** Writes one or more node records in one transaction. */
  putNodes(nodes: readonly NodeRecord[]): Promise<void>;
  deleteNode(name: string): Promise<boolean>;
  getJob(id: string): JobRecord | undefined;
  /** Every job, in id order. */
  listJobs(): JobRecord[];
  /**
   * Jobs not in a terminal state (succeeded, failed, cancelled, timeout), in id order: what a restarting
   * scheduler needs at once. Reads only those records (LMDB keeps an index of them).
   */
  listUnfinishedJobs(): JobRecord[];
  /** Every job id, in id order, without reading the records. */
  listJobIds(): string[];
  /** How many jobs the store holds, without reading them. */
  jobCount(): number;
  /** Up to `limit` jobs in id order, those after the id `after` (from the first when undefined): a restart loads finished jobs page by page. */
  listJobsPage(after: string | undefined, limit: number): JobRecord[];
  /**
   * The highest `<n>` of the job ids (`<name>-<n>`) ever committed, 0 when none: the job manager
   * numbers new jobs above it. Kept with the jobs, so a restart does not read every id to find it.
   */
  highestJobNumber(): number;
  /**
   * Writes jobs, nodes and the events describing the change in one transaction: a scheduling cycle's
   * commit. Events go to the outbox, in order, until outboxAck says they were published.
   */
  commit(change: StoreCommit): Promise<void>;
  /**
   * The sequence of the last replicated-log entry this store has applied (`logSeq` of a commit),
   * 0 when none: where a scheduler following the state stream resumes (scheduler/ha). A store
   * that never follows a log keeps 0.
   */
  appliedLogSeq(): number;
  /**
   * Usage entries (issue 23) in key order: node entries (node, time), then rank entries (job, epoch,
   * rank); only one kind when `kind` is given (a range read: the cluster view and the start-up's
   * node history read no rank entries). Not read at a restart.
   */
  listUsage(kind?: UsageEntry['kind']): UsageEntry[];
  /** How many usage entries the store holds, without reading them. */
  usageCount(): number;
  /** The oldest `limit` events of the outbox, in commit order. */
  outboxPeek(limit: number): OutboxEntry[];
  /** Removes outbox entries up to and including `seq` (they were published). */
  outboxAck(seq: number): Promise<void>;
  /** Events in the outbox. */
  outboxSize(): number;
  close(): Promise<void>;
}

/**
 * Stored records carry a schema version so later releases can migrate them. 2: job records are
 * JSON (LmdbStore converts a schema-1 store, msgpack job records, at open).
 */
export const STORE_SCHEMA_VERSION = 2;

/** The number ending a job id (`<name>-<n>`), 0 for none. */
export function jobNumber(id: string): number {
  const m = /-(\d+)$/.exec(id);
  return m ? Number(m[1]) : 0;
}
