/**
 * SubmitJob's idempotency keys (issue 21): the job a submitter's request id made. The key is the
 * record's own `requestId` and `submittedBy` (the verified caller), so the index is rebuilt from
 * the job records whenever they are loaded: after a restart, and on a new leader after a failover
 * (the records are in the replicated store). Keys are per submitter: another caller naming the
 * same request id makes a job of its own.
 *
 * A submit in flight reserves its key, so a retry that arrives before the first attempt's commit
 * waits for it and gets its job (or, if the first failed, makes the job itself).
 */
import type { JobRecord } from '../../shared/domain/index.js';
import { AlreadyExistsError, InvalidArgumentError } from '../../shared/errors/index.js';

/** The longest request id, in characters (printable ASCII, so also bytes): a UUID is 36. */
export const MAX_REQUEST_ID_LENGTH = 128;

const REQUEST_ID = new RegExp(`^[\\x21-\\x7e]{1,${MAX_REQUEST_ID_LENGTH}}$`);

/** A request id as the API takes it: '' (none) or 1–128 printable ASCII characters, no spaces; else INVALID_ARGUMENT naming `request_id`. */
export function checkRequestId(id: string): string {
  if (id === '' || REQUEST_ID.test(id)) return id;
  if (id.length > MAX_REQUEST_ID_LENGTH) throw new InvalidArgumentError('request_id', `is longer than ${MAX_REQUEST_ID_LENGTH} characters`);
  throw new InvalidArgumentError('request_id', 'must be printable ASCII without spaces (a UUID, say)');
}

/**
 * The job a request id made, for a resubmit of a spec named `specName`: that job, as it is now; a
 * spec of another name is another request reusing the id, refused ALREADY_EXISTS.
 */
export function madeBy(job: JobRecord, specName: string, requestId: string): JobRecord {
  if (job.spec.name !== specName) throw new AlreadyExistsError(`request_id ${JSON.stringify(requestId)} already made job ${job.id} from a spec named ${JSON.stringify(job.spec.name)}, not ${JSON.stringify(specName)}: a new request needs a new request id`);
  return job;
}

/** Whose key a record is: its verified submitter, or its owner in records made without one. */
function submitterOf(job: Pick<JobRecord, 'submittedBy' | 'owner'>): string {
  return job.submittedBy ?? job.owner;
}

function key(submitter: string, requestId: string): string {
  return `${submitter}\u0000${requestId}`;
}

export class RequestIds {
  /** (submitter, request id) → job id, of every record seen. */
  private readonly byKey = new Map<string, string>();
  /** Keys of submits in flight → settled when each ends (its job indexed, or failed). */
  private readonly pending = new Map<string, Promise<void>>();

  /** Indexes a record (every record set in the job table passes here; those without a request id are skipped). */
  note(job: Pick<JobRecord, 'id' | 'requestId' | 'submittedBy' | 'owner'>): void {
    if (job.requestId) this.byKey.set(key(submitterOf(job), job.requestId), job.id);
  }

  /** The job id a submitter's request id made, if known now. */
  find(submitter: string, requestId: string): string | undefined {
    return this.byKey.get(key(submitter, requestId));
  }

  /**
   * The job a submitter's request id made (`existing(id)`), or a new one (`make()`). While one
   * submit with a key is in flight, another with the same key waits for it and gets its job; if
   * the first fails, the next makes the job itself. Throws what `make` throws.
   */
  async once<T>(submitter: string, requestId: string, make: () => Promise<T>, existing: (id: string) => T): Promise<T> {
    const k = key(submitter, requestId);
    for (;;) {
      const known = this.byKey.get(k);
      if (known) return existing(known);
      const inFlight = this.pending.get(k);
      if (!inFlight) break;
      await inFlight;
    }
    // Checked and reserved in one turn of the event loop: no other submit with this key slips in.
    let done!: () => void;
    this.pending.set(k, new Promise<void>((r) => (done = r)));
    try {
      return await make();
    } finally {
      this.pending.delete(k);
      done();
    }
  }

  /** How many keys are indexed (tests). */
  get size(): number {
    return this.byKey.size;
  }
}
