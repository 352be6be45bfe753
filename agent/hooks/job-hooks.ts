/**
 * Prolog, epilog and the GPU-clean check around the rank runner (issue 20, points 1 and 2; see
 * docs/runner.md "Prolog and epilog" and docs/agent-collectors.md "GPU-clean check").
 *
 * `wrap(runner)` gives the runner the scheduler's commands go to: a start is checked as the runner
 * checks it, then held until its job run's prolog passed on this node (the first rank of the run
 * starts the prolog, the others wait for it), or refused (PrologFailedError, refusal
 * 'prolog-failed') when it failed. `taskUpdated` sees ranks end; after the run's last rank on this
 * node, the epilog runs, then the GPU-clean check on the run's GPUs (re-checked over
 * health.gpuClean.settleMs, while the job's processes leave). A failed prolog or epilog and unclean
 * GPUs each send a NodeIncident. Which runs start and end is the pure table in job-runs.ts.
 */
import { accessSync, constants } from 'node:fs';
import { FailedPreconditionError } from '../../shared/errors/index.js';
import type { Logger } from '../../shared/log/index.js';
import { describeGpuClean, gpuCleanCheck, type GpuCleanOutcome, type NodeGpuRef } from '../health/index.js';
import type { IncidentView } from '../reporter/index.js';
import { validateTaskSpec, type TaskRunner, type TaskStatus } from '../runner/index.js';
import type { GpuStateReader } from './gpu-state.js';
import { createJobRunTable, learnIdleMemory, type JobRun } from './job-runs.js';
import type { HookMetrics } from './metrics.js';
import { describeHookRun, type HookName, type HookRun } from './outcome.js';
import { killHookGroup, runHook } from './run-hook.js';

/** A rank refused because its job run's prolog failed on this node: the scheduler requeues the job elsewhere without a retry. */
export class PrologFailedError extends FailedPreconditionError {
  readonly refusal = 'prolog-failed' as const;
}

export interface JobHooksOptions {
  nodeName: string;
  /** hooks.prolog: absolute path; '' = none. */
  prolog: string;
  /** hooks.epilog: absolute path; '' = none. */
  epilog: string;
  /** hooks.timeoutMs */
  timeoutMs: number;
  gpuClean: {
    enabled: boolean;
    /** health.gpuClean.memoryMarginMiB in bytes. */
    marginBytes: number;
    /** health.gpuClean.settleMs */
    settleMs: number;
  };
}

export interface JobHooksDeps {
  /** The node's GPUs (index and UUID), from the last probe. */
  gpus(): NodeGpuRef[];
  /** Where GPU processes and memory are read; undefined: no NVIDIA tool, no GPU-clean check. */
  gpuState: GpuStateReader | undefined;
  sendIncident(incident: IncidentView): void;
  /** The agent's own account name (a job with an empty runAs runs as it). */
  selfUser(): string;
  metrics: HookMetrics;
  log: Logger;
  nowMs(): number;
  /** Waits ms (tests may shorten); default setTimeout. */
  sleep?(ms: number): Promise<void>;
}

type StartOnly = Pick<TaskRunner, 'start' | 'stop' | 'readLog'>;

export interface JobHooks {
  /** The runner the scheduler's commands use: starts go through the prolog. */
  wrap(inner: StartOnly): StartOnly;
  /** Every task update (runner.onUpdate): a rank's end may end its run on this node. */
  taskUpdated(t: TaskStatus): void;
  /** Ranks found running at agent start: their runs' epilog and check follow their end (GPUs unknown: not checked). */
  adopted(tasks: TaskStatus[]): void;
  /** A probe's memory readings: GPUs no run uses teach the idle level. */
  observe(samples: ReadonlyArray<{ index: number; memoryUsedBytes: number | null }>): void;
  /** The idle used memory learned per GPU index (bytes). */
  idleMemory(): Record<number, number>;
  /** Resolves when no prolog, epilog or check is running. */
  idle(): Promise<void>;
  /** The agent stops: running hooks are killed (their timers would not outlive the agent). */
  close(): void;
}

/**
 * How long after a run's first rank arrives its prolog starts: the ranks that arrive meanwhile (a
 * gang's StartTasks come in one burst) are in its GANTRY_GPUS; a rank arriving later waits for the
 * prolog and is not.
 */
export const PROLOG_GATHER_MS = 100;

/** An incident names at most this many leftover processes, and its reason has at most this many characters. */
export const MAX_LEFTOVERS = 64;
export const MAX_REASON_CHARS = 2000;

const isFinal = (s: { state: string }): boolean => s.state === 'exited' || s.state === 'failed-to-start';

export function createJobHooks(opts: JobHooksOptions, deps: JobHooksDeps): JobHooks {
  const { log, metrics } = deps;
  // Said at start: a hook that cannot run fails every job run here (each prolog failure refuses the run's ranks).
  for (const [key, file] of [['hooks.prolog', opts.prolog], ['hooks.epilog', opts.epilog]] as const) {
    if (file === '') continue;
    try {
      accessSync(file, constants.X_OK);
    } catch (e) {
      log.warn({ key, path: file, err: (e as Error).message }, `${key} is not an executable file; every run of it will fail`);
    }
  }
  const table = createJobRunTable({ prolog: opts.prolog !== '' });
  const prologs = new Map<string, Promise<void>>();
  /** Process groups of the hooks running now (killed at close). */
  const running = new Set<number>();
  const busy = new Set<Promise<unknown>>();
  let idleBytes: Record<number, number> = {};
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const runKey = (jobId: string, epoch: number): string => `${jobId}\u0000${epoch}`;

  const track = <T>(p: Promise<T>): Promise<T> => {
    busy.add(p);
    void p.finally(() => busy.delete(p)).catch(() => undefined);
    return p;
  };

  const hook = async (name: HookName, path: string, run: JobRun): Promise<HookRun> => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      GANTRY_JOB_ID: run.jobId,
      GANTRY_JOB_EPOCH: String(run.epoch),
      GANTRY_JOB_USER: run.user || deps.selfUser(),
      GANTRY_GPUS: run.gpus.join(','),
      GANTRY_NODE: opts.nodeName,
      GANTRY_HOOK: name,
    };
    let pgid: number | null = null;
    const r = await runHook({
      hook: name,
      path,
      env,
      timeoutMs: opts.timeoutMs,
      onProcess: (pid) => {
        if (pgid !== null) running.delete(pgid);
        pgid = pid;
        if (pid !== null) running.add(pid);
      },
    });
    metrics.hookRun(r);
    const fields = { job: run.jobId, epoch: run.epoch, hook: name, result: r.result, exitCode: r.exitCode, signal: r.signal, durationMs: Math.round(r.durationMs) };
    if (r.result === 'passed') log.info(fields, `${name} passed`);
    else log.warn({ ...fields, reason: describeHookRun(r) }, `${name} failed`);
    return r;
  };

  const incident = (source: IncidentView['source'], jobId: string, reason: string, leftovers: IncidentView['leftovers'] = []): void => {
    deps.sendIncident({ source, jobId, reason, leftovers, atMs: deps.nowMs() });
  };

  const runProlog = (run: JobRun): Promise<void> => {
    const p = (async () => {
      // The scheduler sends a gang's StartTasks in one burst: gathered, its ranks' GPUs are all in GANTRY_GPUS.
      await sleep(PROLOG_GATHER_MS);
      const r = await hook('prolog', opts.prolog, run);
      const failure = describeHookRun(r);
      table.prologDone(run.jobId, run.epoch, failure);
      if (failure !== '') incident('prolog', run.jobId, failure);
    })().finally(() => prologs.delete(runKey(run.jobId, run.epoch)));
    prologs.set(runKey(run.jobId, run.epoch), p);
    return track(p);
  };

  // ---- after the run: the GPU-clean check ------------------------------------------------------

  const checkOnce = async (run: JobRun): Promise<GpuCleanOutcome> => {
    const state = deps.gpuState!;
    const [processes, memoryUsedBytes] = await Promise.all([state.processes(), state.memoryUsed()]);
    return gpuCleanCheck({ gpus: run.gpus, nodeGpus: deps.gpus(), processes, memoryUsedBytes, idleMemoryBytes: idleBytes, marginBytes: opts.gpuClean.marginBytes });
  };

  const gpuClean = async (run: JobRun): Promise<void> => {
    if (!opts.gpuClean.enabled || !deps.gpuState || run.gpus.length === 0) return;
    const deadline = deps.nowMs() + opts.gpuClean.settleMs;
    const every = Math.max(100, Math.floor(opts.gpuClean.settleMs / 5));
    let outcome: GpuCleanOutcome;
    try {
      for (;;) {
        outcome = await checkOnce(run);
        if (outcome.clean || deps.nowMs() >= deadline) break;
        await sleep(Math.min(every, Math.max(0, deadline - deps.nowMs())));
      }
    } catch (e) {
      // A check that cannot read the GPUs calls nothing clean or unclean; the health rules judge nvidia-smi itself.
      metrics.gpuCleanCheck('error');
      log.warn({ job: run.jobId, epoch: run.epoch, err: (e as Error).message }, 'GPU-clean check could not read the GPUs');
      return;
    }
    if (outcome.clean) {
      metrics.gpuCleanCheck('clean');
      log.info({ job: run.jobId, epoch: run.epoch, gpus: run.gpus, unjudged: outcome.unjudged.map((g) => g.index) }, 'GPUs clean after the job');
      return;
    }
    const users: Record<number, string> = {};
    for (const pid of outcome.pids) users[pid] = await deps.gpuState.ownerOf(pid).catch(() => '');
    const leftovers = outcome.reasons.flatMap((r) =>
      r.kind === 'leftover-process' ? [{ pid: r.pid, user: users[r.pid] ?? '', name: r.name ?? '', gpu: r.gpu.index, usedMemoryBytes: r.usedMemoryBytes ?? 0 }] : [],
    );
    const reason = describeGpuClean(outcome, users);
    metrics.gpuCleanCheck('unclean');
    log.warn({ job: run.jobId, epoch: run.epoch, counts: outcome.counts, pids: outcome.pids, reason }, 'GPUs not clean after the job');
    // Bounded for the wire: the log line above has them all.
    const line = `after job ${run.jobId}: ${reason}`;
    const cut = line.length > MAX_REASON_CHARS ? `${line.slice(0, MAX_REASON_CHARS - 50)}... (cut; ${leftovers.length} leftover processes)` : line;
    incident('gpu-clean', run.jobId, cut, leftovers.slice(0, MAX_LEFTOVERS));
  };

  const finishRun = (run: JobRun): void => {
    void track(
      (async () => {
        if (opts.epilog !== '') {
          const failure = describeHookRun(await hook('epilog', opts.epilog, run));
          if (failure !== '') incident('epilog', run.jobId, failure);
        }
        await gpuClean(run);
      })().catch((e: unknown) => log.error({ job: run.jobId, err: (e as Error).message }, 'after-job hooks failed')),
    );
  };

  const rankEnded = (key: { jobId: string; rank: number; epoch: number }): void => {
    const run = table.rankEnded(key);
    if (run) finishRun(run);
  };

  /** After waiting for the prolog: throws when it failed. */
  const afterProlog = (jobId: string, epoch: number): void => {
    const run = table.get(jobId, epoch);
    if (run?.prolog === 'failed') throw new PrologFailedError(`refused: ${run.failure}`);
  };

  /** Ranks waiting for their run's prolog, and the stop reason once a StopTask came for one meanwhile. */
  const waiting = new Map<string, { stopped?: string }>();
  const taskKey = (k: { jobId: string; rank: number; epoch: number }): string => `${k.jobId}\u0000${k.rank}\u0000${k.epoch}`;

  return {
    wrap(inner) {
      return {
        stop: async (key, graceSeconds, reason) => {
          const w = waiting.get(taskKey(key));
          if (w) {
            // Not started yet: it never will be (see start). Nothing runs to stop.
            w.stopped ??= reason;
            return;
          }
          return inner.stop(key, graceSeconds, reason);
        },
        readLog: (target, ro) => inner.readLog(target, ro),
        async start(spec) {
          // Checked as the runner checks it, before anything runs for it.
          const valid = validateTaskSpec(spec);
          const key = { jobId: valid.jobId, rank: valid.rank, epoch: valid.epoch };
          const arrival = table.arrive(key, valid.gpus ?? [], valid.runAs);
          switch (arrival.action) {
            case 'pass':
              return inner.start(spec);
            case 'refuse':
              throw new PrologFailedError(`refused: ${arrival.reason}`);
            case 'run-prolog':
            case 'wait': {
              const tk = taskKey(key);
              const w: { stopped?: string } = {};
              waiting.set(tk, w);
              try {
                await (arrival.action === 'run-prolog' ? runProlog(arrival.run) : prologs.get(runKey(key.jobId, key.epoch)));
              } finally {
                waiting.delete(tk);
              }
              afterProlog(key.jobId, key.epoch);
              if (w.stopped !== undefined) {
                // Stopped while it waited: it ends without running, as a rank stopped before its start does.
                rankEnded(key);
                const now = deps.nowMs();
                return { ...key, state: 'exited', exitCode: null, signal: null, startedMs: 0, finishedMs: now, message: `stopped before the rank started: ${w.stopped}`, pid: null, checkpointMs: 0, endedBy: 'stopped' };
              }
              break;
            }
            case 'start':
              break;
          }
          let status: TaskStatus;
          try {
            status = await inner.start(spec);
          } catch (e) {
            rankEnded(key);
            throw e;
          }
          if (isFinal(status)) rankEnded(key);
          return status;
        },
      };
    },
    taskUpdated(t) {
      if (isFinal(t)) rankEnded(t);
    },
    adopted(tasks) {
      for (const t of tasks) if (!isFinal(t)) table.adopt(t, [], '');
    },
    observe(samples) {
      idleBytes = learnIdleMemory(idleBytes, samples, table.busyGpus());
    },
    idleMemory: () => ({ ...idleBytes }),
    async idle() {
      while (busy.size > 0) await Promise.allSettled([...busy]);
    },
    close() {
      for (const pgid of running) killHookGroup(pgid);
    },
  };
}
