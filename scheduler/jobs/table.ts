/**
 * The job table and its store: the unfinished jobs loaded at once, the finished ones in the
 * background (until then reads fall through to the store); commits; and the write-behind of
 * records whose change needs no command and no event.
 */
import { TERMINAL_JOB_STATES, usageKey, type JobRecord, type JobState, type RankUsageEntry } from '../../shared/domain/index.js';
import type { GantryEvent } from '../../shared/events/index.js';
import { InvalidArgumentError, NotFoundError } from '../../shared/errors/index.js';
import type { StateStore } from '../store/index.js';
import { RequestIds } from './request-ids.js';
import { usageChanges } from '../usage/records.js';

/**
 * The job table, with the unfinished jobs kept apart as records are set: a cycle walks those (a
 * few thousand) rather than every job the scheduler remembers (100k after a restart).
 */
class JobTable extends Map<string, JobRecord> {
  private readonly unfinished = new Map<string, JobRecord>();
  /** SubmitJob's idempotency keys of every record set here (request-ids.ts). */
  readonly requestIds = new RequestIds();

  override set(id: string, job: JobRecord): this {
    super.set(id, job);
    this.requestIds?.note(job);
    // (Map's constructor calls set before the field exists; the table is built empty.)
    if (TERMINAL_JOB_STATES.has(job.state)) this.unfinished?.delete(id);
    else this.unfinished?.set(id, job);
    return this;
  }

  override delete(id: string): boolean {
    this.unfinished.delete(id);
    return super.delete(id);
  }

  override clear(): void {
    this.unfinished.clear();
    super.clear();
  }

  /** Jobs not in a terminal state. */
  live(): IterableIterator<JobRecord> {
    return this.unfinished.values();
  }
}

export class Jobs {
  private readonly table = new JobTable();
  /** Job records changed in memory, waiting for writeBehind's next write. */
  private readonly dirty = new Map<string, JobRecord>();
  private flushing: Promise<void> | undefined;
  /** Resolves when writeBehind may start its next write (writeBehindIntervalMs after the last). */
  private flushPacing: Promise<void> = Promise.resolve();
  /** The last write writeBehind started (idle() waits for it). */
  private writing: Promise<void> = Promise.resolve();
  /** True after a restart until every finished job is read from the store (see load()). */
  private loadingFinished = false;
  private seq = 0;
  /** Usage entries of written-behind records, waiting for the next write (any commit takes them along). */
  private readonly usageDirty = new Map<string, RankUsageEntry>();

  constructor(
    private readonly store: StateStore,
    private readonly writeBehindIntervalMs: number,
    /** Told of rank usage entries that ended (the first time; usage metrics): after a commit, at once for a write-behind. */
    private readonly onRanksEnded: (entries: readonly RankUsageEntry[]) => void = () => undefined,
  ) {}

  /**
   * The usage entries a change of a job writes (scheduler/usage/records.ts), against the record in
   * memory (or, for a finished job not loaded yet, the stored one).
   */
  private usageOf(next: JobRecord): { entries: RankUsageEntry[]; closed: RankUsageEntry[] } {
    const prev = this.table.get(next.id) ?? (next.ranks.length > 0 ? this.store.getJob(next.id) : undefined);
    return usageChanges(prev, next);
  }

  /** The waiting usage entries, with `fresh` over them (newer), taken for one write. */
  private takeUsage(fresh: readonly RankUsageEntry[]): RankUsageEntry[] {
    if (this.usageDirty.size === 0) return [...fresh];
    for (const e of fresh) this.usageDirty.set(usageKey(e), e);
    const all = [...this.usageDirty.values()];
    this.usageDirty.clear();
    return all;
  }

  /**
   * Loads the unfinished jobs (what scheduling needs) at once; the finished ones follow in the
   * background (loadFinished). Returns how many jobs the store holds.
   */
  load(): number {
    const unfinished = this.store.listUnfinishedJobs();
    for (const j of unfinished) this.table.set(j.id, j);
    // The store keeps the highest job number: no need to read 100k ids before serving.
    this.seq = Math.max(this.seq, this.store.highestJobNumber());
    const count = this.store.jobCount();
    this.loadingFinished = count > unfinished.length;
    return count;
  }

  /** SubmitJob's idempotency keys of the jobs in memory; complete once allLoaded() resolves. */
  get requestIds(): RequestIds {
    return this.table.requestIds;
  }

  /** Resolves once the finished jobs are in memory too (at once if none are loading, or loading has not started). */
  allLoaded(): Promise<void> {
    return this.loadingAll;
  }

  private loadingAll: Promise<void> = Promise.resolve();

  /** Finished jobs, a chunk per turn of the event loop, so the scheduler serves meanwhile. */
  loadFinished(stopped: () => boolean): Promise<void> {
    this.loadingAll = this.loadFinishedPages(stopped);
    return this.loadingAll;
  }

  private async loadFinishedPages(stopped: () => boolean): Promise<void> {
    let after: string | undefined;
    while (this.loadingFinished && !stopped()) {
      await new Promise((r) => setImmediate(r));
      const page = this.store.listJobsPage(after, 500);
      // What is in memory is as new or newer than the store.
      for (const j of page) if (!this.table.has(j.id)) this.table.set(j.id, j);
      if (page.length < 500) break;
      after = page[page.length - 1]!.id;
    }
    this.loadingFinished = false;
  }

  /** A fresh job id for a spec name. */
  nextId(name: string): string {
    return `${name}-${++this.seq}`;
  }

  /** The record in memory (undefined while not loaded or unknown). */
  peek(id: string): JobRecord | undefined {
    return this.table.get(id);
  }

  get(id: string): JobRecord {
    if (!id) throw new InvalidArgumentError('id', 'is required');
    const j = this.table.get(id) ?? (this.loadingFinished ? this.store.getJob(id) : undefined);
    if (!j) throw new NotFoundError('job', id);
    return j;
  }

  list(filter: { state?: string; queue?: string; owner?: string } = {}): JobRecord[] {
    let all: Iterable<JobRecord> = this.table.values();
    if (this.loadingFinished && (!filter.state || TERMINAL_JOB_STATES.has(filter.state as JobState))) {
      // Still loading finished jobs: the store has them all; what is in memory is as new or newer.
      const merged = new Map(this.store.listJobs().map((j) => [j.id, j]));
      for (const j of this.table.values()) merged.set(j.id, j);
      all = merged.values();
    }
    return [...all]
      .filter((j) => (!filter.state || j.state === filter.state) && (!filter.queue || j.spec.queue === filter.queue) && (!filter.owner || j.owner === filter.owner))
      .sort((a, b) => a.submittedMs - b.submittedMs || (a.id < b.id ? -1 : 1));
  }

  /** Every job in memory. */
  all(): IterableIterator<JobRecord> {
    return this.table.values();
  }

  /** Jobs not in a terminal state. */
  live(): IterableIterator<JobRecord> {
    return this.table.live();
  }

  /** Writes records and their events in one transaction; memory follows once it is durable (set). */
  async commit(jobs: readonly JobRecord[], events: readonly GantryEvent[]): Promise<void> {
    // A record written here is newer than any waiting for write-behind.
    for (const j of jobs) this.dirty.delete(j.id);
    const fresh: RankUsageEntry[] = [];
    const closed: RankUsageEntry[] = [];
    for (const j of jobs) {
      const u = this.usageOf(j);
      fresh.push(...u.entries);
      closed.push(...u.closed);
    }
    const usage = this.takeUsage(fresh);
    await this.store.commit(usage.length > 0 ? { jobs: [...jobs], events: [...events], usage } : { jobs: [...jobs], events: [...events] });
    if (closed.length > 0) this.onRanksEnded(closed);
  }

  /** Sets a committed record in memory. */
  set(job: JobRecord): void {
    this.table.set(job.id, job);
  }

  /**
   * Writes a job record whose change needs no command and no event (a rank of a gang reported
   * running): memory now, the store on the next turn of the event loop but at most once per
   * writeBehindIntervalMs, one write per job for all such changes since. The 512 reports of a
   * 512-rank gang took one awaited commit of the whole record each (quadratic bytes, one fsync
   * after another); then one write per turn of the event loop, which for reports arriving a few
   * at a time was still ~3 ms of CPU each (a 512-rank record is ~280 KB of JSON); now they share
   * one write per interval. Resolves once durable. commit() drops a record it writes itself (it
   * is newer).
   */
  writeBehind(job: JobRecord): Promise<void> {
    const u = this.usageOf(job);
    for (const e of u.entries) this.usageDirty.set(usageKey(e), e);
    if (u.closed.length > 0) this.onRanksEnded(u.closed);
    this.table.set(job.id, job);
    this.dirty.set(job.id, job);
    this.flushing ??= this.flushPacing
      .then(() => new Promise<void>((r) => setImmediate(r)))
      .then(() => {
        const jobs = [...this.dirty.values()];
        this.dirty.clear();
        this.flushing = undefined;
        const gapMs = this.writeBehindIntervalMs;
        this.flushPacing = gapMs > 0 ? new Promise<void>((r) => setTimeout(r, gapMs)) : Promise.resolve();
        // Written even when commit() took every record: this write resolves after its, so a
        // caller waiting here still learns of durability in order.
        const usage = this.takeUsage([]);
        const write = this.store.commit(usage.length > 0 ? { jobs, usage } : { jobs });
        this.writing = write.catch(() => undefined);
        return write;
      });
    return this.flushing;
  }

  /** Resolves once the write-behind writes started so far are done. */
  async flushed(): Promise<void> {
    await this.flushing;
    await this.writing;
  }
}
