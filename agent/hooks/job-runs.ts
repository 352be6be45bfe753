/**
 * Which runs of which jobs start and end on this node (issue 20, points 1 and 2): the pure table
 * behind the prolog, the epilog and the GPU-clean check. No I/O, no clock.
 *
 * A job run is a job id and an epoch. Its first rank to arrive on this node starts the prolog (one
 * per run per node, not per rank); ranks arriving while it runs wait for it; once it passed they
 * start, once it failed they are refused. When the last active rank of the run on this node has
 * ended, the run ends: the epilog runs, then the GPU-clean check, on the GPUs its ranks used.
 *
 * The table is a state machine, each step a value: `arrive` says what to do with a rank
 * (run-prolog, wait, start, refuse), `rankEnded` whether the run just ended. A rank that ended and
 * arrives again (the scheduler's StartTask repeated) is passed through untracked: the runner
 * answers with its status, and no second prolog runs. A run that ended and whose ranks were all
 * handled is kept (bounded) only to recognise such repeats.
 */

export type PrologState = 'running' | 'passed' | 'failed';

export interface JobRun {
  jobId: string;
  epoch: number;
  /** The run-as account of its ranks ('' = the agent's own). */
  user: string;
  /** GPU indexes its ranks use on this node, ascending. */
  gpus: number[];
  prolog: PrologState;
  /** Why the prolog failed (one line); '' otherwise. */
  failure: string;
  /** Ranks started (or starting) and not yet ended. */
  active: Set<number>;
  /** Ranks that ended. */
  ended: Set<number>;
  /** The last active rank ended: the epilog and the GPU-clean check were asked for. */
  done: boolean;
}

/** What to do with a rank that arrives (StartTask). */
export type Arrival =
  /** The run's first rank: run the prolog, then start it (the table now says 'running'). */
  | { action: 'run-prolog'; run: JobRun }
  /** The prolog is running: wait for it (prologDone), then ask again. */
  | { action: 'wait' }
  /** Start the rank (the prolog passed, or there is none). */
  | { action: 'start' }
  /** A rank of this run that already ended, arriving again: hand it on untracked (the runner answers with its status). */
  | { action: 'pass' }
  /** The run's prolog failed: refuse the rank with this reason. */
  | { action: 'refuse'; reason: string };

export interface JobRunTableOptions {
  /** Whether a prolog is configured: without one, a run's prolog counts as passed at once. */
  prolog: boolean;
  /** Finished runs kept to recognise repeated starts; default 1024. */
  keepFinished?: number;
}

const runKey = (jobId: string, epoch: number): string => `${jobId}\u0000${epoch}`;

export interface JobRunTable {
  /** A rank arrives. */
  arrive(key: { jobId: string; rank: number; epoch: number }, gpus: readonly number[], user: string): Arrival;
  /** The prolog of a run finished; failure is the reason ('' when it passed). */
  prologDone(jobId: string, epoch: number, failure: string): void;
  /**
   * A rank ended (exited, failed to start, or was refused before it ran). Returns the run when
   * this was its last active rank (the epilog and the GPU-clean check are due), else undefined.
   */
  rankEnded(key: { jobId: string; rank: number; epoch: number }): JobRun | undefined;
  /** Ranks found running at agent start (their prolog ran before the restart). */
  adopt(key: { jobId: string; rank: number; epoch: number }, gpus: readonly number[], user: string): void;
  /** GPU indexes some run that has not ended uses (their memory is not idle). */
  busyGpus(): Set<number>;
  get(jobId: string, epoch: number): JobRun | undefined;
  /** Runs known, for tests and logs. */
  size(): number;
}

export function createJobRunTable(opts: JobRunTableOptions): JobRunTable {
  const runs = new Map<string, JobRun>();
  const keep = opts.keepFinished ?? 1024;

  const mergeGpus = (run: JobRun, gpus: readonly number[]): void => {
    const all = new Set([...run.gpus, ...gpus]);
    run.gpus = [...all].sort((a, b) => a - b);
  };

  const prune = (): void => {
    let finished = 0;
    for (const r of runs.values()) if (r.done && r.active.size === 0) finished++;
    if (finished <= keep) return;
    // Oldest first: a Map iterates in insertion order.
    for (const [k, r] of runs) {
      if (finished <= keep) break;
      if (r.done && r.active.size === 0) {
        runs.delete(k);
        finished--;
      }
    }
  };

  const fresh = (jobId: string, epoch: number, user: string, prolog: PrologState): JobRun => ({
    jobId,
    epoch,
    user,
    gpus: [],
    prolog,
    failure: '',
    active: new Set(),
    ended: new Set(),
    done: false,
  });

  return {
    arrive(key, gpus, user) {
      const k = runKey(key.jobId, key.epoch);
      let run = runs.get(k);
      if (run?.ended.has(key.rank)) return { action: 'pass' };
      if (run === undefined || (run.done && run.active.size === 0 && run.prolog !== 'failed')) {
        // A new run, or a rank of a run that had ended on this node arriving late: a new start here.
        run = fresh(key.jobId, key.epoch, user, opts.prolog ? 'running' : 'passed');
        runs.delete(k);
        runs.set(k, run);
        mergeGpus(run, gpus);
        run.active.add(key.rank);
        prune();
        return opts.prolog ? { action: 'run-prolog', run } : { action: 'start' };
      }
      if (run.prolog === 'failed') return { action: 'refuse', reason: run.failure };
      mergeGpus(run, gpus);
      run.active.add(key.rank);
      return run.prolog === 'running' ? { action: 'wait' } : { action: 'start' };
    },

    prologDone(jobId, epoch, failure) {
      const run = runs.get(runKey(jobId, epoch));
      if (!run || run.prolog !== 'running') return;
      run.prolog = failure === '' ? 'passed' : 'failed';
      run.failure = failure;
      if (failure !== '') {
        // Refused ranks never ran: the run is over on this node, with no epilog (nothing started).
        for (const r of run.active) run.ended.add(r);
        run.active.clear();
        run.done = true;
      }
    },

    rankEnded(key) {
      const run = runs.get(runKey(key.jobId, key.epoch));
      if (!run || !run.active.has(key.rank)) return undefined;
      run.active.delete(key.rank);
      run.ended.add(key.rank);
      if (run.active.size > 0 || run.done || run.prolog !== 'passed') return undefined;
      run.done = true;
      prune();
      return run;
    },

    adopt(key, gpus, user) {
      const k = runKey(key.jobId, key.epoch);
      let run = runs.get(k);
      if (!run) {
        run = fresh(key.jobId, key.epoch, user, 'passed');
        runs.set(k, run);
      }
      mergeGpus(run, gpus);
      run.active.add(key.rank);
    },

    busyGpus() {
      const out = new Set<number>();
      for (const r of runs.values()) if (!r.done) for (const g of r.gpus) out.add(g);
      return out;
    },

    get(jobId, epoch) {
      return runs.get(runKey(jobId, epoch));
    },

    size() {
      return runs.size;
    },
  };
}

/** The lowest idle reading seen per GPU (bytes), updated with readings of GPUs no run uses. Pure. */
export function learnIdleMemory(
  idle: Readonly<Record<number, number>>,
  readings: ReadonlyArray<{ index: number; memoryUsedBytes: number | null }>,
  busy: ReadonlySet<number>,
): Record<number, number> {
  const out: Record<number, number> = { ...idle };
  for (const r of readings) {
    if (busy.has(r.index) || r.memoryUsedBytes === null || !Number.isFinite(r.memoryUsedBytes) || r.memoryUsedBytes < 0) continue;
    const prev = out[r.index];
    if (prev === undefined || r.memoryUsedBytes < prev) out[r.index] = r.memoryUsedBytes;
  }
  return out;
}
