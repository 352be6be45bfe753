/**
 * The lifecycle outcomes of one commit, combined per job: the latest record, every command in
 * order, and the events. A job that changes state twice in one commit (requeued → pending →
 * placed in one cycle) publishes its last state only, as a reader of the store sees it; replica
 * and scaling events all stay.
 */
import type { JobRecord } from '../../shared/domain/index.js';
import type { JobEvent } from '../../shared/events/index.js';
import type { JobCommand, Outcome } from './lifecycle.js';

/** Events about a job's replicas or faults, not its state. */
const NOT_STATE: ReadonlySet<JobEvent['type']> = new Set(['replica', 'scaled', 'fault']);

export interface BatchEvent {
  type: JobEvent['type'];
  /** The record as the event describes it (the outcome's). */
  job: JobRecord;
}

export class Batch {
  readonly records = new Map<string, { job: JobRecord; commands: JobCommand[] }>();
  events: BatchEvent[] = [];

  /** The record the batch holds for a job, if any. */
  get(id: string): JobRecord | undefined {
    return this.records.get(id)?.job;
  }

  /** Adds an outcome; one that changed nothing (the same record, nothing to do) is left out. */
  add(before: JobRecord, out: Outcome): void {
    if (out.job === before && out.commands.length === 0) return;
    const id = out.job.id;
    const had = this.records.get(id);
    if (had) had.job = out.job;
    else this.records.set(id, { job: out.job, commands: [] });
    this.records.get(id)!.commands.push(...out.commands);
    if (had && out.events.some((t) => !NOT_STATE.has(t))) this.events = this.events.filter((e) => e.job.id !== id || NOT_STATE.has(e.type));
    for (const type of out.events) this.events.push({ type, job: out.job });
  }

  get size(): number {
    return this.records.size;
  }
}
