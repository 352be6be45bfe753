/**
 * The JSON records a task's directory holds, shared by the runner and the supervisor, and the
 * atomic write (temp file + rename) both use so a reader never sees half a record.
 */
import { readFileSync, renameSync, statSync, writeFileSync, unlinkSync } from 'node:fs';
import { readFile, rename, writeFile, unlink } from 'node:fs/promises';

export const RECORD_VERSION = 1;

/** The identity a rank runs under; null in SpecRecord.user means "the supervisor's own user, no switch". */
export interface RunIdentity {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface SpecRecord {
  version: number;
  jobId: string;
  rank: number;
  epoch: number;
  command: string[];
  /** The full environment of the rank (scheduler env + PATH, HOME, USER, LOGNAME). */
  env: Record<string, string>;
  workdir: string;
  runAs: string;
  user: RunIdentity | null;
  graceSeconds: number;
  logMaxBytes: number;
  logKeep: number;
  createdMs: number;
  /** The SLO scrape target of a rank that serves a replica's metrics; absent otherwise (and in older records). */
  slo?: SpecSloRecord;
  /** The rank's cgroups (agent/runner/cgroup): absent when the rank runs without containment. */
  cgroup?: SpecCgroupRecord;
  /**
   * Unix ms at which the rank is stopped for its job's time limit (counted from the job's start),
   * by the supervisor itself, so it holds while the agent is down; absent: no limit.
   */
  deadlineMs?: number;
  /** GPU indexes the rank holds (StartTask.gpus); absent for none, and in older records. */
  gpus?: number[];
}

/** RankCgroups as spec.json holds it (see agent/runner/cgroup/types.ts). */
export interface SpecCgroupRecord {
  supervisor: string[];
  rank: string[];
  killFile: string | null;
  /**
   * The device program the supervisor attaches to the v2 rank leaf `dir` before the rank starts
   * (rules as gantry-devices takes them: `c:195:0:rw`); absent: the rank's devices are not limited
   * there (no v2, or limited already through v1 devices.allow).
   */
  devices?: SpecDevicesRecord;
}

export interface SpecDevicesRecord {
  dir: string;
  rules: string[];
  /** How long the Node supervisor lets gantry-devices run (runner.deviceHelperTimeoutMs); the native one needs none. */
  timeoutMs?: number;
}

/** What the agent's SLO scraper needs to scrape the rank again after an agent restart. */
export interface SpecSloRecord {
  service: string;
  metric: string;
  port: number;
  windowMs: number;
  replica: number;
}

export interface LaunchRecord {
  version: number;
  supervisorPid: number;
  /** When the runner spawned the supervisor, or handed the task to a warm one. */
  launchedMs: number;
  /** True when a warm (already booted) supervisor took the task; absent for a cold spawn. */
  warm?: boolean;
  /** True when the native supervisor wrote it (it does so itself, first thing); absent otherwise. */
  native?: boolean;
}

export interface StatusRecord {
  version: number;
  supervisorPid: number;
  pid: number;
  pgid: number;
  startedMs: number;
}

export interface StopRecord {
  version: number;
  reason: string;
  graceSeconds: number;
  requestedMs: number;
}

export interface ExitRecord {
  version: number;
  /** True when the rank never ran (spawn failed). */
  failedToStart: boolean;
  code: number | null;
  signal: string | null;
  finishedMs: number;
  message: string;
  /** Who wrote the record: the supervisor, or the runner when the supervisor was found dead. */
  writer: 'supervisor' | 'runner';
  /** True when the supervisor stopped the rank because spec.json's deadlineMs passed. */
  timedOut?: boolean;
}

export interface LogIndexRecord {
  /** Incremented before and after every rotation; odd while rotating. */
  seq: number;
  /** Offset in the rank's whole output where the current `log` file starts. */
  base: number;
  rotating: boolean;
}

function tmpName(file: string): string {
  return `${file}.tmp-${process.pid}`;
}

export function writeJsonAtomicSync(file: string, value: unknown): void {
  const tmp = tmpName(file);
  writeFileSync(tmp, JSON.stringify(value) + '\n', { mode: 0o644 });
  renameSync(tmp, file);
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = tmpName(file);
  try {
    await writeFile(tmp, JSON.stringify(value) + '\n', { mode: 0o644 });
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The parsed record, or undefined when the file does not exist. A corrupt record throws. */
export async function readJson<T>(file: string): Promise<T | undefined> {
  // Most reads are polls for a record not written yet (exit.json of a running rank): a stat that
  // does not throw answers those without an asynchronous open failing with ENOENT (a rejected
  // promise and an Error with its stack, each time).
  if (!statSync(file, { throwIfNoEntry: false })) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
  return JSON.parse(text) as T;
}

export function readJsonSync<T>(file: string): T | undefined {
  // As readJson: the supervisor's hand-off looks for stop.json and log.json, usually absent.
  if (!statSync(file, { throwIfNoEntry: false })) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
  return JSON.parse(text) as T;
}

export function unlinkQuietSync(file: string): void {
  try {
    unlinkSync(file);
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
}

export { isMissing };
