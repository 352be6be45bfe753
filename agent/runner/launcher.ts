/**
 * The seam between the task table and the supervisors: a SupervisorLauncher starts a task's
 * supervisor and tells the table, through a LaunchHost, what its reports say. Two implement it:
 * native-launcher.ts (one launcher process forks gantry-supervisor per task) and node-launcher.ts
 * (the Node supervisor, cold or handed to a warm one from its pool). What both share is here.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../shared/procs/index.js';
import { RECORD_VERSION, type ExitRecord, type StatusRecord } from './records.js';
import type { Task } from './task-table.js';
import type { WarmPoolStatus } from './types.js';

/** Starts tasks' supervisors of one kind. */
export interface SupervisorLauncher {
  /** The file it runs: start() refuses (FailedPrecondition) while it is missing. */
  readonly path: string;
  /** Gets ready at adopt(): fills the warm pool, starts the native launcher process. */
  prepare(): void;
  /**
   * Starts the task's supervisor. False when it could not: its exit record is written and the
   * task has ended (failed-to-start).
   */
  launch(task: Task): Promise<boolean>;
  /** What it started and holds ready (the runner's warmPool()). */
  stats(): WarmPoolStatus;
  /** Ends what it holds (an idle warm supervisor, the launcher's input); started supervisors live on. */
  close(): void;
}

/** What a launcher tells the task table, and the little it needs from the runner. */
export interface LaunchHost {
  readonly stateDir: string;
  now(): number;
  closed(): boolean;
  /** A report carried the rank's status record: the task runs. */
  running(task: Task, status: StatusRecord): void;
  /** The supervisor could not be started; exit is its record, already written: the task ends. */
  ended(task: Task, exit: ExitRecord): void | Promise<void>;
  /** Something happened to the task (a report, an exit): look at its records now, then poll as needed. */
  look(task: Task): void;
  /** Plans the polls again (a task is no longer reported on). */
  schedule(): void;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A supervisor's environment, and any helper's of the runner: PATH only. */
export const supervisorEnv = (): Record<string, string> => ({ PATH: rankPath() });

/** The PATH a rank gets when its spec sets none. */
export const rankPath = (): string => process.env.PATH ?? DEFAULT_PATH;

export const childAlive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;

/**
 * The compiled supervisor: beside this file when running from dist/, else (running from the .ts
 * sources, as under tap) dist/agent/runner/supervisor.js under the package root.
 */
export function defaultSupervisorPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return path.join(path.dirname(here), 'supervisor.js');
  return path.join(packageRoot(), 'dist', 'agent', 'runner', 'supervisor.js');
}

/** The native supervisor binary: dist/agent/runner/gantry-supervisor (built by scripts/build-native.mjs). */
export function defaultNativeSupervisorPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return path.join(path.dirname(here), 'gantry-supervisor');
  return path.join(packageRoot(), 'dist', 'agent', 'runner', 'gantry-supervisor');
}

/** A status record as a warm supervisor sends it over IPC (or the launcher's 'started' line gives it), or undefined when it is not one. */
export function statusRecordOf(v: unknown): StatusRecord | undefined {
  const r = v as Partial<StatusRecord> | null;
  const int = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) > 0;
  if (!r || !int(r.supervisorPid) || !int(r.pid) || !int(r.pgid) || !int(r.startedMs)) return undefined;
  return { version: RECORD_VERSION, supervisorPid: r.supervisorPid, pid: r.pid, pgid: r.pgid, startedMs: r.startedMs };
}

/**
 * Spawns a long-lived helper of the runner (a warm supervisor, the launcher): detached (own
 * session, clean environment, cwd /), its output appended to logName under the state dir;
 * undefined when it cannot.
 */
export function spawnHelper(stateDir: string, cmd: string, args: string[], logName: string, stdio: (out: number) => StdioOptions): ChildProcess | undefined {
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o750 });
    const out = openSync(path.join(stateDir, logName), 'a', 0o640);
    try {
      return spawn(cmd, args, { detached: true, stdio: stdio(out), cwd: '/', env: supervisorEnv() });
    } finally {
      closeSync(out);
    }
  } catch {
    return undefined;
  }
}
