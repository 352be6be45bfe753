/**
 * The agent's rank runner: starts each rank under a detached supervisor, either the native one
 * (native/gantry-supervisor.c, forked by one launcher process per runner) or the Node one
 * (supervisor.ts, handed to an already booted warm one when the pool has one); watches the task
 * directories (by the launcher's and its own children's exit reports, else by polling with one
 * timer for all tasks), stops and fences ranks, re-adopts them after an agent restart, and reads
 * their logs. See docs/runner.md.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { readdir, rm, stat, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
} from '../../shared/errors/index.js';
import { packageRoot } from '../../shared/procs/index.js';
import { FILES, rankDir, taskDir, tasksRoot } from './layout.js';
import { groupAlive, processAlive, processStartTicks, signalGroup, signalPid } from './procfs.js';
import {
  RECORD_VERSION,
  isMissing,
  readJson,
  writeJsonAtomic,
  writeJsonAtomicSync,
  type ExitRecord,
  type LaunchRecord,
  type RunIdentity,
  type SpecRecord,
  type StatusRecord,
  type StopRecord,
} from './records.js';
import { readLogRange } from './rotating-log.js';
import type {
  LogChunk,
  LogTarget,
  ReadLogOptions,
  TaskKey,
  TaskRunner,
  TaskRunnerOptions,
  TaskSlo,
  TaskSpec,
  TaskStatus,
  WarmPoolStatus,
} from './types.js';
import {
  compareKeys,
  taskKeyString,
  validateGraceSeconds,
  validateJobId,
  validateRank,
  validateTaskKey,
  validateTaskSlo,
  validateTaskSpec,
} from './validate.js';
import { lookupUser } from './users.js';

const DEFAULT_POLL_MS = 500;
/** Poll interval while a task is starting or being stopped. */
const FAST_POLL_MS = 50;
const DEFAULT_START_WAIT_MS = 10_000;
/** After the grace period, how long the runner gives the supervisor before it SIGKILLs the group itself. */
const BACKSTOP_MS = 5_000;
const DEFAULT_LOG_READ = 64 * 1024;
const MAX_LOG_READ = 4 * 1024 * 1024;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_WARM_REFILL_MS = 5000;
/** Longest wait before replacing warm supervisors that keep dying before they are used. */
const WARM_BACKOFF_MAX_MS = 60_000;
/**
 * Room a warm supervisor's argv keeps for the title it takes with a task (`node supervisor.js
 * <taskDir>`): a job id of up to 128 characters, rank and epoch of up to 16 digits, and margin.
 */
const WARM_TITLE_ROOM = 200;
/**
 * Node flags for every supervisor, warm or cold. A supervisor's heap is ~4 MB and it allocates next
 * to nothing while it waits, yet V8's memory reducer ran two full mark-compact collections in each
 * one 8–10 s after its boot: in an idle warm supervisor, or on its hand-off when a start came then
 * (64 hand-offs in that window cost 19.7 ms of CPU each instead of 5.8). And a supervisor gains
 * nothing from V8's background threads (concurrent marking and compilation): without them a
 * hand-off took 4.2 ms.
 */
const SUPERVISOR_NODE_FLAGS = ['--no-memory-reducer', '--single-threaded'];
/** Output of warm supervisors before they take a task (under the state dir). */
const WARM_LOG = 'warm-supervisors.log';
/**
 * Room the launcher's argv keeps (a padding argument) for the command line each supervisor it
 * forks writes there, `<gantry-supervisor> <taskDir> <id>`: the binary's path and a task dir of up
 * to 500 characters besides the tasks root. A longer one is exec'd instead (the same, slower).
 */
const LAUNCHER_TITLE_ROOM = 512;
/** Output of the native supervisor's launcher (under the state dir). */
const LAUNCHER_LOG = 'launcher.log';
/** Files forget() deletes; the logs stay for cleanup(). */
const STATE_FILES = [FILES.spec, FILES.launch, FILES.status, FILES.stop, FILES.exit];

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

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

interface Entry {
  key: TaskKey;
  dir: string;
  status: TaskStatus;
  supervisorPid: number | null;
  /** When the task was created (spec.json), for judging a supervisor that never reported. */
  createdMs: number;
  /** The SLO scrape target recorded in spec.json, if any. */
  slo: TaskSlo | undefined;
  stopWaiters: Waiter[];
  settleWaiters: Array<() => void>;
  backstop: NodeJS.Timeout | undefined;
  /** The warm supervisor the task was handed to, while its IPC channel is open. */
  warm?: ChildProcess | undefined;
  /**
   * The supervisor's process when this runner spawned it (warm or cold): Node reaps it and says
   * when it exits, so while it lives a running task needs no polling, and its exit (the rank's
   * exit recorded) is looked at at once. Absent for a supervisor adopted from an earlier agent.
   */
  child?: ChildProcess | undefined;
  /**
   * Started through this runner's native launcher, which has not yet said that the supervisor
   * exited: the launcher's reports ('started', 'failed', 'exit') say when to look, not a poll.
   */
  nativeLive?: boolean | undefined;
  /** The id of its request to the launcher, while nativeLive. */
  nativeId?: string | undefined;
  /** The supervisor as last recognised by its command line: a later poll that finds the same pid
   * with the same start time needs only /proc/<pid>/stat, not the command line again. */
  supervisorSeen?: { pid: number; startTicks: number } | undefined;
}

/** The native supervisor's launcher: it forks a supervisor per request and reports on its stdout. */
interface Launcher {
  child: ChildProcess;
  /** Requests by id, until the supervisor exits. */
  byId: Map<string, Entry>;
  /** Supervisors by pid, once the launcher said it spawned them. */
  byPid: Map<number, Entry>;
}

interface Warm {
  child: ChildProcess;
  /** It said {op:'ready'}: booted and listening. */
  ready: boolean;
}

/** A status record as a warm supervisor sends it over IPC (or the launcher's 'started' line gives it), or undefined when it is not one. */
function statusRecordOf(v: unknown): StatusRecord | undefined {
  const r = v as Partial<StatusRecord> | null;
  const int = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) > 0;
  if (!r || !int(r.supervisorPid) || !int(r.pid) || !int(r.pgid) || !int(r.startedMs)) return undefined;
  return { version: RECORD_VERSION, supervisorPid: r.supervisorPid, pid: r.pid, pgid: r.pgid, startedMs: r.startedMs };
}

const isActive = (e: Entry): boolean => e.status.state === 'starting' || e.status.state === 'running';

/** The SLO target a spec.json recorded; a malformed one is ignored (the rank runs unscraped). */
function sloFromRecord(spec: SpecRecord): TaskSlo | undefined {
  if (spec.slo === undefined) return undefined;
  try {
    return validateTaskSlo(spec.slo);
  } catch {
    return undefined;
  }
}

function blankStatus(key: TaskKey): TaskStatus {
  return { ...key, state: 'starting', exitCode: null, signal: null, startedMs: 0, finishedMs: 0, message: '', pid: null, checkpointMs: 0 };
}

function checkOptions(opts: TaskRunnerOptions): void {
  if (typeof opts.stateDir !== 'string' || opts.stateDir === '') throw new InvalidArgumentError('stateDir', 'must be a directory path');
  if (!Array.isArray(opts.allowedUsers) || opts.allowedUsers.some((u) => typeof u !== 'string' || u === '')) {
    throw new InvalidArgumentError('allowedUsers', 'must be a list of user names');
  }
  if (!Number.isSafeInteger(opts.logMaxBytes) || opts.logMaxBytes <= 0) {
    throw new InvalidArgumentError('logMaxBytes', `must be a positive integer, got ${String(opts.logMaxBytes)}`);
  }
  if (!Number.isSafeInteger(opts.logKeep) || opts.logKeep < 0) {
    throw new InvalidArgumentError('logKeep', `must be a non-negative integer, got ${String(opts.logKeep)}`);
  }
  if (opts.pollMs !== undefined && (!Number.isFinite(opts.pollMs) || opts.pollMs < 1)) {
    throw new InvalidArgumentError('pollMs', `must be at least 1, got ${String(opts.pollMs)}`);
  }
  if (opts.warmSupervisors !== undefined && (!Number.isSafeInteger(opts.warmSupervisors) || opts.warmSupervisors < 0)) {
    throw new InvalidArgumentError('warmSupervisors', `must be a non-negative integer, got ${String(opts.warmSupervisors)}`);
  }
  if (opts.supervisor !== undefined && !['auto', 'native', 'node'].includes(opts.supervisor)) {
    throw new InvalidArgumentError('supervisor', `must be 'auto', 'native' or 'node', got ${JSON.stringify(opts.supervisor)}`);
  }
  if (opts.warmRefillDelayMs !== undefined && (!Number.isFinite(opts.warmRefillDelayMs) || opts.warmRefillDelayMs < 0)) {
    throw new InvalidArgumentError('warmRefillDelayMs', `must be a non-negative number, got ${String(opts.warmRefillDelayMs)}`);
  }
}

function isDirectorySync(p: string): boolean {
  try {
    return statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

async function listDir(p: string): Promise<string[]> {
  try {
    return await readdir(p);
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
}

const isCount = (s: string): boolean => /^(0|[1-9][0-9]{0,15})$/.test(s);

export function createTaskRunner(opts: TaskRunnerOptions): TaskRunner {
  checkOptions(opts);
  const stateDir = path.resolve(opts.stateDir);
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  const now = opts.now ?? Date.now;
  const startWaitMs = opts.startWaitMs ?? DEFAULT_START_WAIT_MS;
  const supervisorPath = opts.supervisorPath ?? defaultSupervisorPath();
  const allowed = new Set(opts.allowedUsers);
  const nativePath = opts.nativeSupervisorPath ?? defaultNativeSupervisorPath();
  const useNative = opts.supervisor === 'native' || ((opts.supervisor ?? 'auto') === 'auto' && existsSync(nativePath));
  // The native supervisor needs no warm pool: its launcher forks it in a fraction of a millisecond.
  const warmTarget = useNative ? 0 : (opts.warmSupervisors ?? 0);
  const warmRefillMs = opts.warmRefillDelayMs ?? DEFAULT_WARM_REFILL_MS;
  const supervisorEnv = (): Record<string, string> => ({ PATH: process.env.PATH ?? DEFAULT_PATH });
  /** The agent's own user (name and home), looked up once: it does not change while the agent runs. */
  let self: os.UserInfo<string> | undefined;
  const selfUser = (): os.UserInfo<string> => (self ??= os.userInfo());

  const entries = new Map<string, Entry>();
  const pendingStarts = new Map<string, Promise<TaskStatus>>();
  const listeners = new Set<(s: TaskStatus) => void>();
  let timer: NodeJS.Timeout | undefined;
  let timerDue = 0;
  let ticking = false;
  let closed = false;
  const pool: Warm[] = [];
  let refillTimer: NodeJS.Timeout | undefined;
  let warmFailures = 0;
  let warmUsed = 0;
  let coldStarts = 0;
  let launcher: Launcher | undefined;
  let nativeSeq = 0;
  let nativeStarts = 0;

  const emit = (e: Entry): void => {
    for (const cb of [...listeners]) {
      try {
        cb({ ...e.status });
      } catch {
        // a listener's fault is its own
      }
    }
  };

  const supervisorArgvMatches =
    (e: Entry) =>
    (argv: string[]): boolean => {
      const suffix = path.join(path.basename(tasksRoot(stateDir)), e.key.jobId, String(e.key.rank), String(e.key.epoch));
      return argv.some((a) => a === e.dir || a.endsWith(path.sep + suffix));
    };
  const childAlive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;
  const supervisorAlive = (e: Entry): boolean => {
    if (e.nativeLive || (e.warm !== undefined && childAlive(e.warm))) return true;
    const pid = e.supervisorPid;
    if (pid === null) return false;
    if (e.child !== undefined && e.child.pid === pid) return childAlive(e.child);
    const seen = e.supervisorSeen;
    if (seen?.pid === pid && processStartTicks(pid) === seen.startTicks) return true;
    const alive = processAlive(pid, supervisorArgvMatches(e));
    const startTicks = alive ? processStartTicks(pid) : undefined;
    e.supervisorSeen = startTicks === undefined ? undefined : { pid, startTicks };
    return alive;
  };

  /** A running task whose supervisor this runner spawned and which still lives: its exit event, not a poll, says when to look. */
  const watchedByExit = (e: Entry): boolean => e.status.state === 'running' && e.child !== undefined && e.child.pid === e.supervisorPid && childAlive(e.child);

  /** Keeps the supervisor's process handle on the task and looks at the task's records when it exits. */
  const watchOwn = (e: Entry, child: ChildProcess): void => {
    e.child = child;
    child.once('exit', () => {
      // During a warm hand-off (e.warm) the hand-off's own listener looks; a replaced child is not ours.
      if (closed || e.child !== child || e.warm === child || !isActive(e)) return;
      void check(e, true)
        .catch(() => undefined)
        .finally(schedule);
    });
  };

  // ---- warm supervisors ----------------------------------------------------------------------

  /**
   * Spawns a long-lived helper of the runner (a warm supervisor, the launcher): detached (own
   * session, clean environment, cwd /), its output appended to logName under the state dir;
   * undefined when it cannot.
   */
  const spawnHelper = (cmd: string, args: string[], logName: string, stdio: (out: number) => StdioOptions): ChildProcess | undefined => {
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
  };

  /** Spawns one idle warm supervisor into the pool; false when it cannot. */
  const spawnWarm = (): boolean => {
    if (closed || !existsSync(supervisorPath)) return false;
    // Like a cold one, plus the IPC channel it is handed its task on.
    const child = spawnHelper(process.execPath, [...SUPERVISOR_NODE_FLAGS, supervisorPath, '--warm', tasksRoot(stateDir), ' '.repeat(WARM_TITLE_ROOM)], WARM_LOG, (out) => [
      'ignore',
      out,
      out,
      'ipc',
    ]);
    if (!child) return false;
    if (child.pid === undefined) {
      child.on('error', () => undefined);
      return false;
    }
    const w: Warm = { child, ready: false };
    pool.push(w);
    child.on('error', () => undefined);
    child.unref();
    child.channel?.unref();
    child.on('message', (m: { op?: unknown } | null) => {
      if (m?.op === 'ready') {
        w.ready = true;
        warmFailures = 0;
        // Part of its rehearsal: a message it ignores compiles Node's IPC receive path (channel
        // read, message parsing, dispatch), which the hand-off's {op:'run'} would otherwise pay
        // for: 1.3 of the 1.9 ms of lazy compilation left on a hand-off.
        try {
          child.send({ op: 'rehearse' }, (err) => err && undefined);
        } catch {
          // gone already: its exit is handled below
        }
      }
    });
    child.once('exit', () => {
      const i = pool.indexOf(w);
      if (i < 0) return; // handed a task: the task's entry watches it
      pool.splice(i, 1);
      if (closed) return;
      // Died idle (killed, or broken): replace it, more slowly each time it happens again.
      warmFailures++;
      scheduleRefill(Math.min(WARM_BACKOFF_MAX_MS, Math.max(warmRefillMs, 100) * 2 ** warmFailures));
    });
    return true;
  };

  const fillPool = (): void => {
    while (!closed && pool.length < warmTarget) if (!spawnWarm()) break;
  };

  /** Refills after delayMs; every call restarts the delay, so a burst of starts is never slowed by refills. */
  const scheduleRefill = (delayMs: number): void => {
    if (closed || warmTarget === 0) return;
    if (refillTimer) clearTimeout(refillTimer);
    refillTimer = setTimeout(() => {
      refillTimer = undefined;
      fillPool();
    }, delayMs);
    refillTimer.unref();
  };

  const takeWarm = (): ChildProcess | undefined => {
    const i = pool.findIndex((w) => w.ready && w.child.connected && w.child.exitCode === null && w.child.signalCode === null);
    if (i < 0) return undefined;
    return pool.splice(i, 1)[0]!.child;
  };

  // ---- the native supervisor's launcher ---------------------------------------------------------

  /** Looks at a task's records now (a report said something happened), then schedules polls. */
  const lookNow = (e: Entry): void => {
    if (closed || !isActive(e)) return;
    void check(e, true)
      .catch(() => undefined)
      .finally(schedule);
  };

  /** One line of the launcher's reports (see native/gantry-supervisor.c). */
  const onLauncherLine = (l: Launcher, line: string): void => {
    const [op, a = '', ...rest] = line.split(' ');
    switch (op) {
      case 'spawned': {
        const e = l.byId.get(a);
        const pid = Number(rest[0]);
        if (!e || !Number.isSafeInteger(pid) || pid <= 0) return;
        if (e.supervisorPid === null) e.supervisorPid = pid;
        l.byPid.set(pid, e);
        return;
      }
      case 'started': {
        const e = l.byId.get(a);
        const [supervisorPid, pid, pgid, startedMs] = rest.map(Number);
        const st = statusRecordOf({ supervisorPid, pid, pgid, startedMs });
        if (e && st && e.status.state === 'starting') markRunning(e, st, true);
        return;
      }
      case 'failed': {
        // It wrote exit.json (the rank never ran) and is about to exit.
        const e = l.byId.get(a);
        if (e) lookNow(e);
        return;
      }
      case 'refused': {
        // Not forked (no process, or a directory it will not take): a Node supervisor runs it instead.
        const e = l.byId.get(a);
        l.byId.delete(a);
        if (!e || closed) return;
        e.nativeLive = false;
        nativeStarts--;
        void spawnCold(e)
          .then(() => schedule())
          .catch(() => undefined);
        return;
      }
      case 'exit': {
        const pid = Number(a);
        const e = l.byPid.get(pid);
        if (!e) return;
        l.byPid.delete(pid);
        if (e.nativeId !== undefined) l.byId.delete(e.nativeId);
        e.nativeLive = false;
        lookNow(e);
        return;
      }
      default:
    }
  };

  /** Spawns the launcher (once per runner; again if it died); undefined when it cannot. */
  const startLauncher = (): Launcher | undefined => {
    if (closed || !existsSync(nativePath)) return undefined;
    const child = spawnHelper(nativePath, ['--launcher', tasksRoot(stateDir), ' '.repeat(LAUNCHER_TITLE_ROOM)], LAUNCHER_LOG, (out) => ['pipe', 'pipe', out]);
    if (!child) return undefined;
    child.on('error', () => undefined);
    if (child.pid === undefined || !child.stdin || !child.stdout) return undefined;
    const l: Launcher = { child, byId: new Map(), byPid: new Map() };
    child.stdin.on('error', () => undefined);
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    let rest = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      rest += chunk;
      for (let i = rest.indexOf('\n'); i >= 0; i = rest.indexOf('\n')) {
        const line = rest.slice(0, i);
        rest = rest.slice(i + 1);
        onLauncherLine(l, line);
      }
    });
    child.once('exit', () => {
      if (launcher === l) launcher = undefined;
      // Its supervisors live on (reparented); nobody reports their exits now: poll them.
      const orphans = new Set([...l.byId.values(), ...l.byPid.values()]);
      l.byId.clear();
      l.byPid.clear();
      for (const e of orphans) {
        e.nativeLive = false;
        lookNow(e);
      }
    });
    return l;
  };

  /** Hands e's task to the launcher; false when there is none (the caller spawns a Node supervisor). */
  const launchNative = (e: Entry): boolean => {
    if (e.dir.includes('\n')) return false;
    if (launcher && (!childAlive(launcher.child) || !launcher.child.stdin?.writable)) launcher = undefined;
    launcher ??= startLauncher();
    if (!launcher) return false;
    const id = String(++nativeSeq);
    launcher.byId.set(id, e);
    e.nativeId = id;
    e.nativeLive = true;
    nativeStarts++;
    launcher.child.stdin!.write(`${id} ${e.dir}\n`);
    return true;
  };

  // ---- polling -------------------------------------------------------------------------------

  const wantedDelay = (): number | undefined => {
    let any = false;
    for (const e of entries.values()) {
      if (!isActive(e)) continue;
      // A warm supervisor still on its IPC channel says when the rank runs, or its channel closes;
      // a supervisor this runner spawned says when it exits.
      if (e.warm !== undefined || e.nativeLive || watchedByExit(e)) continue;
      if (e.status.state === 'starting' || e.stopWaiters.length > 0) return Math.min(FAST_POLL_MS, pollMs);
      any = true;
    }
    return any ? pollMs : undefined;
  };

  const schedule = (): void => {
    if (closed || ticking) return;
    const delay = wantedDelay();
    if (delay === undefined) return;
    const due = Date.now() + delay;
    if (timer && timerDue <= due) return;
    if (timer) clearTimeout(timer);
    timerDue = due;
    timer = setTimeout(() => void tick(), delay);
  };

  const tick = async (): Promise<void> => {
    timer = undefined;
    ticking = true;
    try {
      for (const e of [...entries.values()]) {
        if (closed) break;
        if (isActive(e) && e.warm === undefined && !e.nativeLive && !watchedByExit(e)) await check(e, true).catch(() => undefined);
      }
    } finally {
      ticking = false;
      schedule();
    }
  };

  const settle = (e: Entry, notify: boolean): void => {
    const waiters = e.settleWaiters.splice(0);
    for (const w of waiters) w();
    if (notify) emit(e);
  };

  const finish = (e: Entry, exit: ExitRecord, notify: boolean): void => {
    if (!isActive(e)) return;
    e.status = {
      ...e.status,
      state: exit.failedToStart ? 'failed-to-start' : 'exited',
      exitCode: exit.code,
      signal: exit.signal,
      finishedMs: exit.finishedMs,
      message: exit.message,
    };
    if (e.backstop) clearTimeout(e.backstop);
    e.backstop = undefined;
    settle(e, notify);
    for (const w of e.stopWaiters.splice(0)) w.resolve();
  };

  const markRunning = (e: Entry, st: StatusRecord, notify: boolean): void => {
    // Only from starting: two looks at one task can overlap (a poll and an exit report, each
    // awaiting its reads), and the later one must not take a finished task back to running.
    if (e.status.state !== 'starting') return;
    e.supervisorPid = st.supervisorPid;
    e.status = { ...e.status, state: 'running', pid: st.pid, startedMs: st.startedMs };
    settle(e, notify);
  };

  /** The runner's own exit record, for a supervisor that died without writing one. */
  const recordLostSupervisor = async (e: Entry, failedToStart: boolean, message: string): Promise<ExitRecord> => {
    // The supervisor may have written its record just before dying: that one wins.
    const late = await readJson<ExitRecord>(path.join(e.dir, FILES.exit));
    if (late) return late;
    const rec: ExitRecord = { version: RECORD_VERSION, failedToStart, code: null, signal: null, finishedMs: now(), message, writer: 'runner' };
    await writeJsonAtomic(path.join(e.dir, FILES.exit), rec);
    return rec;
  };

  /** One look at a task's directory; moves it on when something happened. */
  const check = async (e: Entry, notify: boolean): Promise<void> => {
    const exit = await readJson<ExitRecord>(path.join(e.dir, FILES.exit));
    if (exit) {
      if (e.status.state === 'starting' && !exit.failedToStart) {
        // It ran and exited between two polls: report that it ran, then how it ended.
        const st = await readJson<StatusRecord>(path.join(e.dir, FILES.status));
        if (st) markRunning(e, st, notify);
      }
      return finish(e, exit, notify);
    }
    if (e.status.state === 'starting') {
      const st = await readJson<StatusRecord>(path.join(e.dir, FILES.status));
      if (st) {
        markRunning(e, st, notify);
        return check(e, notify); // it may have run and exited between two polls
      }
      if (e.supervisorPid === null) {
        const launch = await readJson<LaunchRecord>(path.join(e.dir, FILES.launch));
        if (launch) e.supervisorPid = launch.supervisorPid;
      }
      if (supervisorAlive(e)) return;
      // The launch record is written right after the spawn; without one, give the launch time to finish.
      if (e.supervisorPid === null && now() - e.createdMs < startWaitMs) return;
      if (await readJson<StatusRecord>(path.join(e.dir, FILES.status))) return; // started meanwhile
      const stopped = await readJson<StopRecord>(path.join(e.dir, FILES.stop));
      const rec = stopped
        ? await recordLostSupervisor(e, false, `stopped before the rank started: ${stopped.reason}`)
        : await recordLostSupervisor(e, true, `the supervisor exited before starting the rank (see ${path.join(e.dir, FILES.supervisorLog)})`);
      return finish(e, rec, notify);
    }
    // running
    if (supervisorAlive(e)) return;
    if (await readJson<ExitRecord>(path.join(e.dir, FILES.exit))) return check(e, notify);
    // The supervisor is gone without a record: nobody would see the rank's exit or take its output.
    const pgid = e.status.pid;
    if (pgid !== null && groupAlive(pgid)) {
      signalGroup(pgid, 'SIGKILL');
      return; // recorded on a later poll, once the group is gone
    }
    const rec = await recordLostSupervisor(e, false, 'the supervisor died; its rank was killed and its exit status is unknown');
    finish(e, rec, notify);
  };

  /** Builds the in-memory entry of a task from its directory; undefined for a forgotten one. */
  const load = async (key: TaskKey, dir: string): Promise<Entry | undefined> => {
    const spec = await readJson<SpecRecord>(path.join(dir, FILES.spec)).catch(() => undefined);
    if (!spec) return undefined;
    const [status, exit, launch] = await Promise.all([
      readJson<StatusRecord>(path.join(dir, FILES.status)).catch(() => undefined),
      readJson<ExitRecord>(path.join(dir, FILES.exit)).catch(() => undefined),
      readJson<LaunchRecord>(path.join(dir, FILES.launch)).catch(() => undefined),
    ]);
    const e: Entry = {
      key,
      dir,
      status: blankStatus(key),
      supervisorPid: status?.supervisorPid ?? launch?.supervisorPid ?? null,
      createdMs: spec.createdMs,
      slo: sloFromRecord(spec),
      stopWaiters: [],
      settleWaiters: [],
      backstop: undefined,
    };
    if (status) e.status = { ...e.status, state: 'running', pid: status.pid, startedMs: status.startedMs };
    if (exit) finish(e, exit, false);
    return e;
  };

  const entryFor = async (key: TaskKey): Promise<Entry | undefined> => {
    const ks = taskKeyString(key);
    const known = entries.get(ks);
    if (known) return known;
    const e = await load(key, taskDir(stateDir, key));
    if (!e || entries.has(ks)) return entries.get(ks) ?? undefined;
    entries.set(ks, e);
    if (isActive(e)) await check(e, false).catch(() => undefined);
    schedule();
    return e;
  };

  // ---- start ---------------------------------------------------------------------------------

  const resolveIdentity = async (runAs: string): Promise<RunIdentity | null> => {
    const myUid = process.getuid?.() ?? -1;
    if (runAs === '') {
      if (myUid === 0 && !opts.allowRoot) {
        throw new InvalidArgumentError('runAs', 'is empty and the agent runs as root; running ranks as root is not allowed by the agent config (allowRoot)');
      }
      return null;
    }
    if (!allowed.has(runAs)) {
      throw new InvalidArgumentError('runAs', `${JSON.stringify(runAs)} is not one of the agent's allowed users (${[...allowed].join(', ') || 'none'})`);
    }
    const user = await lookupUser(runAs);
    if (!user) throw new InvalidArgumentError('runAs', `no user ${JSON.stringify(runAs)} on this node`);
    if (user.uid === 0 && !opts.allowRoot) {
      throw new InvalidArgumentError('runAs', `${JSON.stringify(runAs)} is root (uid 0); running ranks as root is not allowed by the agent config (allowRoot)`);
    }
    if (myUid !== 0 && myUid !== -1 && myUid !== user.uid) {
      throw new InvalidArgumentError('runAs', `the agent runs as uid ${myUid} and cannot switch to ${JSON.stringify(runAs)} (uid ${user.uid})`);
    }
    return { name: user.name, uid: user.uid, gid: user.gid, home: user.home };
  };

  /** Spawns a supervisor for e's task (cold: a node process boots); false when that failed (recorded). */
  const spawnCold = async (e: Entry): Promise<boolean> => {
    coldStarts++;
    const out = openSync(path.join(e.dir, FILES.supervisorLog), 'a', 0o640);
    let pid: number | undefined;
    let spawnError: Error | undefined;
    try {
      // Own session, no pipes to the agent, a clean environment (no NODE_OPTIONS loaders): the
      // supervisor must outlive the agent, even its SIGKILL.
      const child = spawn(process.execPath, [...SUPERVISOR_NODE_FLAGS, supervisorPath, e.dir], {
        detached: true,
        stdio: ['ignore', out, out],
        cwd: '/',
        env: supervisorEnv(),
      });
      child.on('error', () => undefined);
      child.unref();
      pid = child.pid;
      if (pid !== undefined) watchOwn(e, child);
    } catch (err) {
      spawnError = err as Error;
    } finally {
      closeSync(out);
    }
    if (pid === undefined) {
      const rec: ExitRecord = {
        version: RECORD_VERSION,
        failedToStart: true,
        code: null,
        signal: null,
        finishedMs: now(),
        message: `cannot start the rank supervisor: ${spawnError?.message ?? 'spawn failed'}`,
        writer: 'runner',
      };
      await writeJsonAtomic(path.join(e.dir, FILES.exit), rec);
      finish(e, rec, true);
      return false;
    }
    e.supervisorPid = pid;
    await writeJsonAtomic(path.join(e.dir, FILES.launch), { version: RECORD_VERSION, supervisorPid: pid, launchedMs: now() } satisfies LaunchRecord);
    return true;
  };

  /**
   * Hands e's task to a warm supervisor: it says 'started' (with the rank's status record) as soon
   * as the rank runs, so the task is running without waiting for a poll; then it drops the channel
   * and is an ordinary detached supervisor. A refusal falls back to a cold spawn.
   */
  const handOff = async (e: Entry, child: ChildProcess): Promise<void> => {
    warmUsed++;
    watchOwn(e, child); // before the hand-off's own exit listener, which runs first while e.warm is set
    e.warm = child;
    e.supervisorPid = child.pid!;
    const done = (): void => {
      if (e.warm !== child) return;
      e.warm = undefined;
      if (closed) return;
      // Gone or disconnected without saying the rank runs: the records say what happened.
      if (e.status.state === 'starting') void check(e, true).catch(() => undefined).finally(schedule);
      else schedule(); // polled again from now on, like any supervisor
    };
    child.on('message', (m: { op?: unknown; status?: unknown } | null) => {
      if (e.warm !== child) return;
      if (m?.op === 'started') {
        const st = statusRecordOf(m.status);
        if (st && e.status.state === 'starting') markRunning(e, st, true);
      } else if (m?.op === 'refused') {
        e.warm = undefined;
        e.supervisorPid = null;
        warmUsed--;
        void spawnCold(e)
          .then(() => schedule())
          .catch(() => undefined);
      }
    });
    child.once('disconnect', done);
    child.once('exit', done);
    // launch.json first: an agent that dies right after the send leaves a record naming the supervisor.
    await writeJsonAtomic(path.join(e.dir, FILES.launch), { version: RECORD_VERSION, supervisorPid: child.pid!, launchedMs: now(), warm: true } satisfies LaunchRecord);
    try {
      child.send({ op: 'run', dir: e.dir }, (err) => {
        if (err) done();
      });
    } catch {
      done();
    }
  };

  const launch = async (spec: TaskSpec): Promise<TaskStatus> => {
    const key: TaskKey = { jobId: spec.jobId, rank: spec.rank, epoch: spec.epoch };
    const dir = taskDir(stateDir, key);
    const existing = await entryFor(key);
    if (existing) return { ...existing.status };

    const user = await resolveIdentity(spec.runAs);
    const self = selfUser();
    const home = user?.home ?? self.homedir;
    let workdir = spec.workdir;
    if (workdir === '') {
      workdir = isDirectorySync(home) ? home : '/';
    } else if (!isDirectorySync(workdir)) {
      throw new InvalidArgumentError('workdir', `${JSON.stringify(workdir)} is not an existing directory on this node`);
    }
    if (useNative ? !existsSync(nativePath) : !existsSync(supervisorPath)) {
      throw new FailedPreconditionError(`the rank supervisor ${useNative ? nativePath : supervisorPath} is missing; build the agent (npm run build)`);
    }
    const name = user?.name ?? self.username;
    const env: Record<string, string> = {
      ...spec.env,
      PATH: spec.env.PATH ?? process.env.PATH ?? DEFAULT_PATH,
      HOME: home,
      USER: name,
      LOGNAME: name,
    };
    const record: SpecRecord = {
      version: RECORD_VERSION,
      jobId: key.jobId,
      rank: key.rank,
      epoch: key.epoch,
      command: spec.command,
      env,
      workdir,
      runAs: spec.runAs,
      user,
      graceSeconds: spec.graceSeconds,
      logMaxBytes: opts.logMaxBytes,
      logKeep: opts.logKeep,
      createdMs: now(),
      ...(spec.slo ? { slo: { ...spec.slo } } : {}),
    };
    // Synchronous on purpose: a few small writes to the page cache cost less than their promise
    // and thread-pool round trips (one per open, write, close, rename), which a gang's burst of
    // starts paid on every node.
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    writeJsonAtomicSync(path.join(dir, FILES.spec), record);

    const e: Entry = {
      key,
      dir,
      status: blankStatus(key),
      supervisorPid: null,
      createdMs: record.createdMs,
      slo: spec.slo ? { ...spec.slo } : undefined,
      stopWaiters: [],
      settleWaiters: [],
      backstop: undefined,
    };
    entries.set(taskKeyString(key), e);

    if (warmTarget > 0) scheduleRefill(warmRefillMs);
    const warm = useNative ? undefined : takeWarm();
    if (useNative && launchNative(e)) {
      // The launcher reports the rank's start, or the supervisor's exit.
    } else if (warm) await handOff(e, warm);
    else if (!(await spawnCold(e))) return { ...e.status };
    schedule();
    if (e.status.state === 'starting') {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, startWaitMs);
        e.settleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return { ...e.status };
  };

  // ---- stop ----------------------------------------------------------------------------------

  const stopEntry = async (e: Entry, graceSeconds: number, reason: string): Promise<void> => {
    if (!isActive(e)) return;
    const done = new Promise<void>((resolve, reject) => e.stopWaiters.push({ resolve, reject }));
    const first = e.stopWaiters.length === 1;
    if (first) {
      await writeJsonAtomic(path.join(e.dir, FILES.stop), {
        version: RECORD_VERSION,
        reason,
        graceSeconds,
        requestedMs: now(),
      } satisfies StopRecord);
      const graceMs = graceSeconds * 1000;
      const pgid = e.status.pid;
      if (supervisorAlive(e) && e.supervisorPid !== null) {
        // The supervisor forwards SIGTERM to the group and SIGKILLs it after the grace, even if the
        // agent dies meanwhile. The runner steps in only if the supervisor does not.
        signalPid(e.supervisorPid, 'SIGTERM');
        e.backstop = setTimeout(() => {
          if (!isActive(e) || closed) return;
          if (e.status.pid !== null) signalGroup(e.status.pid, 'SIGKILL');
          e.backstop = setTimeout(() => {
            if (isActive(e) && !closed && e.supervisorPid !== null && supervisorAlive(e)) signalPid(e.supervisorPid, 'SIGKILL');
          }, BACKSTOP_MS);
        }, graceMs + BACKSTOP_MS);
      } else if (pgid !== null) {
        signalGroup(pgid, 'SIGTERM');
        e.backstop = setTimeout(() => {
          if (isActive(e) && !closed) signalGroup(pgid, 'SIGKILL');
        }, graceMs);
      }
      schedule();
    }
    return done;
  };

  // ---- the runner ----------------------------------------------------------------------------

  const runner: TaskRunner = {
    async adopt() {
      if (closed) throw new UnavailableError('the task runner is closed');
      const root = tasksRoot(stateDir);
      for (const jobId of await listDir(root)) {
        try {
          validateJobId(jobId);
        } catch {
          continue;
        }
        for (const rank of (await listDir(path.join(root, jobId))).filter(isCount)) {
          for (const epoch of (await listDir(path.join(root, jobId, rank))).filter(isCount)) {
            const key: TaskKey = { jobId, rank: Number(rank), epoch: Number(epoch) };
            const ks = taskKeyString(key);
            if (entries.has(ks)) continue;
            const e = await load(key, taskDir(stateDir, key));
            if (!e || entries.has(ks)) continue;
            entries.set(ks, e);
            if (isActive(e)) await check(e, false).catch(() => undefined);
          }
        }
      }
      schedule();
      fillPool();
      if (useNative) launcher ??= startLauncher();
      return runner.list();
    },

    async start(spec) {
      if (closed) throw new UnavailableError('the task runner is closed');
      const valid = validateTaskSpec(spec);
      const ks = taskKeyString(valid);
      const known = entries.get(ks);
      if (known) return { ...known.status };
      const pending = pendingStarts.get(ks);
      if (pending) return pending;
      const p = launch(valid).finally(() => pendingStarts.delete(ks));
      pendingStarts.set(ks, p);
      return p;
    },

    async stop(key, graceSeconds, reason) {
      const k = validateTaskKey(key);
      const grace = validateGraceSeconds(graceSeconds);
      if (closed) throw new UnavailableError('the task runner is closed');
      const pending = pendingStarts.get(taskKeyString(k));
      if (pending) await pending.catch(() => undefined);
      const e = await entryFor(k);
      if (!e) return;
      return stopEntry(e, grace, reason);
    },

    async fence(keep, graceSeconds) {
      const grace = validateGraceSeconds(graceSeconds);
      const victims = [...entries.values()].filter((e) => isActive(e) && !keep({ ...e.key }));
      await Promise.all(victims.map((e) => stopEntry(e, grace, 'fenced: the scheduler no longer runs this epoch')));
      return victims.map((e) => ({ ...e.key }));
    },

    sloOf(key) {
      const e = entries.get(taskKeyString(key));
      return e?.slo ? { ...e.slo } : undefined;
    },

    list() {
      return [...entries.values()].map((e) => ({ ...e.status })).sort(compareKeys);
    },

    async refreshCheckpoints() {
      const changed: TaskStatus[] = [];
      for (const e of entries.values()) {
        if (e.status.state !== 'running') continue;
        const rec = await readJson<{ ms?: unknown }>(path.join(e.dir, FILES.checkpoint)).catch(() => undefined);
        const ms = typeof rec?.ms === 'number' ? rec.ms : 0;
        if (ms > e.status.checkpointMs) {
          e.status = { ...e.status, checkpointMs: ms };
          changed.push({ ...e.status });
          emit(e);
        }
      }
      return changed;
    },

    get(key) {
      const e = entries.get(taskKeyString(key));
      return e ? { ...e.status } : undefined;
    },

    onUpdate(cb) {
      listeners.add(cb);
      return () => {
        listeners.delete(cb);
      };
    },

    async forget(key) {
      const k = validateTaskKey(key);
      const e = await entryFor(k);
      if (!e) return;
      if (isActive(e)) {
        throw new FailedPreconditionError(`task ${taskKeyString(k)} is still ${e.status.state}; stop it before forgetting it`);
      }
      entries.delete(taskKeyString(k));
      // spec.json first: without it the directory counts as forgotten even if a later unlink fails.
      for (const f of STATE_FILES) {
        await unlink(path.join(e.dir, f)).catch((err: unknown) => {
          if (!isMissing(err)) throw err;
        });
      }
    },

    async cleanup(olderThanMs) {
      if (!Number.isFinite(olderThanMs) || olderThanMs < 0) {
        throw new InvalidArgumentError('olderThanMs', `must be a non-negative number, got ${String(olderThanMs)}`);
      }
      const cutoff = now() - olderThanMs;
      const root = tasksRoot(stateDir);
      let removed = 0;
      for (const jobId of await listDir(root)) {
        const jobDir = path.join(root, jobId);
        for (const rank of await listDir(jobDir)) {
          const rDir = path.join(jobDir, rank);
          for (const epoch of await listDir(rDir)) {
            const dir = path.join(rDir, epoch);
            const names = await listDir(dir);
            if (names.includes(FILES.spec)) continue;
            if (isCount(rank) && isCount(epoch) && entries.has(`${jobId}/${rank}/${epoch}`)) continue;
            let newest = 0;
            for (const n of ['.', ...names]) {
              const m = await stat(path.join(dir, n)).then((s) => s.mtimeMs).catch(() => 0);
              newest = Math.max(newest, m);
            }
            if (newest >= cutoff) continue;
            await rm(dir, { recursive: true, force: true });
            removed++;
          }
          if ((await listDir(rDir)).length === 0) await rm(rDir, { recursive: true, force: true });
        }
        if ((await listDir(jobDir)).length === 0) await rm(jobDir, { recursive: true, force: true });
      }
      return removed;
    },

    async readLog(target: LogTarget, ro: ReadLogOptions = {}): Promise<LogChunk> {
      const jobId = validateJobId(target.jobId);
      const rank = validateRank(target.rank);
      const offset = ro.offset ?? 0;
      const maxBytes = ro.maxBytes ?? DEFAULT_LOG_READ;
      if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError('offset', `must be a non-negative integer, got ${String(offset)}`);
      if (!Number.isSafeInteger(maxBytes) || maxBytes < 1 || maxBytes > MAX_LOG_READ) {
        throw new InvalidArgumentError('maxBytes', `must be an integer from 1 to ${MAX_LOG_READ}, got ${String(maxBytes)}`);
      }
      let epoch = target.epoch;
      if (epoch === undefined) {
        const epochs = (await listDir(rankDir(stateDir, jobId, rank))).filter(isCount).map(Number);
        if (epochs.length === 0) throw new NotFoundError('rank log', `${jobId}/${rank}`);
        epoch = Math.max(...epochs);
      } else {
        validateTaskKey({ jobId, rank, epoch });
      }
      const dir = taskDir(stateDir, { jobId, rank, epoch });
      if (!isDirectorySync(dir)) throw new NotFoundError('rank log', `${jobId}/${rank}/${epoch}`);
      return readLogRange(dir, offset, maxBytes);
    },

    warmPool() {
      const ready = pool.filter((w) => w.ready).length;
      return { ready, booting: pool.length - ready, used: warmUsed, cold: coldStarts, native: nativeStarts } satisfies WarmPoolStatus;
    },

    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (refillTimer) clearTimeout(refillTimer);
      refillTimer = undefined;
      // The launcher exits at the end of its input (the supervisors it forked live on); an idle
      // warm supervisor exits when its channel closes.
      launcher?.child.stdin?.end();
      launcher = undefined;
      for (const w of pool) {
        try {
          w.child.disconnect();
        } catch {
          // already gone
        }
      }
      for (const e of entries.values()) {
        if (e.backstop) clearTimeout(e.backstop);
        e.backstop = undefined;
        for (const w of e.stopWaiters.splice(0)) w.reject(new UnavailableError('the task runner was closed while stopping a task'));
        settle(e, false);
      }
      listeners.clear();
    },
  };
  return runner;
}
