/**
 * The task table: every task the runner knows, and the state machine its records drive
 * (starting -> running -> exited, or starting -> failed-to-start). It reads a task's directory
 * (spec, launch, status, stop and exit records) and moves the task on; it watches the tasks that no
 * report covers with one timer for all (fast while one starts or stops); it tells the listeners.
 * Launchers (launcher.ts) report into it; the runner (runner.ts) drives it.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { RankContainment } from './cgroup/types.js';
import { describeEnding } from './ending.js';
import { childAlive } from './launcher.js';
import { FILES, taskDir, tasksRoot } from './layout.js';
import { groupAlive, processAlive, processStartTicks, signalGroup } from './procfs.js';
import { RECORD_VERSION, readJson, writeJsonAtomic, type ExitRecord, type LaunchRecord, type SpecRecord, type StatusRecord, type StopRecord } from './records.js';
import type { TaskKey, TaskSlo, TaskStatus, TaskUsage } from './types.js';
import { taskKeyString, validateTaskSlo } from './validate.js';

/** Poll interval while a task is starting or being stopped. */
const FAST_POLL_MS = 50;

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * What covers a task while a launcher reports on it (a warm supervisor's IPC channel, the native
 * launcher's lines): its reports say when to look, not a poll. alive() says whether the
 * supervisor lives, as far as the reporter knows.
 */
export interface Reporter {
  alive(): boolean;
}

export interface Task {
  key: TaskKey;
  dir: string;
  status: TaskStatus;
  supervisorPid: number | null;
  /** When the task was created (spec.json), for judging a supervisor that never reported. */
  createdMs: number;
  /** The SLO scrape target recorded in spec.json, if any. */
  slo: TaskSlo | undefined;
  /** GPUs held and the account run as, from spec.json (TaskRunner.holdings). */
  holding?: { gpus: number[]; owner: string };
  /** spec.json has `cgroup`: the rank runs in cgroups of the runner's containment. */
  contained?: boolean;
  /** The exit being recorded while its usage is read from the cgroups (one look at a time). */
  concluding?: Promise<void> | undefined;
  stopWaiters: Waiter[];
  settleWaiters: Array<() => void>;
  backstop: NodeJS.Timeout | undefined;
  /** Set by the launcher while its reports cover the task. */
  reporter?: Reporter | undefined;
  /**
   * The supervisor's process when this runner spawned it (warm or cold): Node reaps it and says
   * when it exits, so while it lives a running task needs no polling, and its exit (the rank's
   * exit recorded) is looked at at once. Absent for a supervisor adopted from an earlier agent.
   */
  child?: ChildProcess | undefined;
  /** The supervisor as last recognised by its command line: a later poll that finds the same pid
   * with the same start time needs only /proc/<pid>/stat, not the command line again. */
  supervisorSeen?: { pid: number; startTicks: number } | undefined;
}

export const isActive = (e: Task): boolean => e.status.state === 'starting' || e.status.state === 'running';

export function blankStatus(key: TaskKey): TaskStatus {
  return { ...key, state: 'starting', exitCode: null, signal: null, startedMs: 0, finishedMs: 0, message: '', pid: null, checkpointMs: 0 };
}

/** The SLO target a spec.json recorded; a malformed one is ignored (the rank runs unscraped). */
function sloFromRecord(spec: SpecRecord): TaskSlo | undefined {
  if (spec.slo === undefined) return undefined;
  try {
    return validateTaskSlo(spec.slo);
  } catch {
    return undefined;
  }
}


export interface TaskTableOptions {
  stateDir: string;
  now: () => number;
  pollMs: number;
  startWaitMs: number;
  /** The runner's containment: usage at the end, its kill in the last-resort kills. */
  containment?: RankContainment | undefined;
}

export interface TaskTable {
  readonly tasks: Map<string, Task>;
  closed(): boolean;
  /** A new task, just written (spec.json), its supervisor not yet launched. */
  add(task: Task): void;
  /** The task, from memory or its directory (undefined for one never created or forgotten). */
  find(key: TaskKey): Promise<Task | undefined>;
  /** Reads the task at key from its directory into the table, unless it is known; looks at it once. */
  adoptOne(key: TaskKey): Promise<void>;
  onUpdate(cb: (s: TaskStatus) => void): () => void;
  emit(e: Task): void;
  markRunning(e: Task, st: StatusRecord, notify: boolean): void;
  /** Records the exit: with the rank's usage from its cgroups first when it ran in some. */
  conclude(e: Task, exit: ExitRecord, notify: boolean): Promise<void>;
  /** SIGKILL to the rank's group and (contained) containment.kill: for a supervisor that is gone or did not act. */
  killRank(e: Task): Promise<void>;
  /** Looks at a task's records now (a report said something happened), then plans the polls. */
  look(e: Task): void;
  /** Plans the next poll (one timer for all tasks). */
  schedule(): void;
  supervisorAlive(e: Task): boolean;
  /** Stops the polls; no task moves on after this. */
  close(): void;
  /** Ends the waits on every task (a stop or a start still waiting) and drops the listeners. */
  release(reason: Error): void;
}

export function createTaskTable(opts: TaskTableOptions): TaskTable {
  const { stateDir, now, pollMs, startWaitMs, containment } = opts;
  const tasks = new Map<string, Task>();
  const listeners = new Set<(s: TaskStatus) => void>();
  let timer: NodeJS.Timeout | undefined;
  let timerDue = 0;
  let ticking = false;
  let closed = false;

  const emit = (e: Task): void => {
    for (const cb of [...listeners]) {
      try {
        cb({ ...e.status });
      } catch {
        // a listener's fault is its own
      }
    }
  };

  const supervisorArgvMatches =
    (e: Task) =>
    (argv: string[]): boolean => {
      const suffix = path.join(path.basename(tasksRoot(stateDir)), e.key.jobId, String(e.key.rank), String(e.key.epoch));
      return argv.some((a) => a === e.dir || a.endsWith(path.sep + suffix));
    };
  const supervisorAlive = (e: Task): boolean => {
    if (e.reporter?.alive()) return true;
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
  const watchedByExit = (e: Task): boolean => e.status.state === 'running' && e.child !== undefined && e.child.pid === e.supervisorPid && childAlive(e.child);
  /** Nothing but a poll tells when it moves on. */
  const polled = (e: Task): boolean => isActive(e) && e.reporter === undefined && !watchedByExit(e);

  // ---- the state machine -----------------------------------------------------------------------

  const settle = (e: Task, notify: boolean): void => {
    const waiters = e.settleWaiters.splice(0);
    for (const w of waiters) w();
    if (notify) emit(e);
  };

  const finish = (e: Task, exit: ExitRecord, notify: boolean, usage: TaskUsage | null): void => {
    if (!isActive(e)) return;
    const ending = describeEnding(exit, existsSync(path.join(e.dir, FILES.stop)), usage);
    e.status = {
      ...e.status,
      state: exit.failedToStart ? 'failed-to-start' : 'exited',
      exitCode: exit.code,
      signal: exit.signal,
      finishedMs: exit.finishedMs,
      message: ending.message,
      ...(ending.endedBy ? { endedBy: ending.endedBy } : {}),
      ...(usage ? { usage } : {}),
    };
    if (e.backstop) clearTimeout(e.backstop);
    e.backstop = undefined;
    settle(e, notify);
    for (const w of e.stopWaiters.splice(0)) w.resolve();
  };

  const conclude = (e: Task, exit: ExitRecord, notify: boolean): Promise<void> => {
    if (!isActive(e)) return Promise.resolve();
    if (!containment || !e.contained) {
      finish(e, exit, notify, null);
      return Promise.resolve();
    }
    e.concluding ??= containment
      .usage(e.key)
      .catch(() => null)
      .then((usage) => finish(e, exit, notify, usage));
    return e.concluding;
  };

  /** The runner's own last-resort kill of a rank: its group, and its cgroups when it has some. */
  const killRank = async (e: Task): Promise<void> => {
    if (e.status.pid !== null) signalGroup(e.status.pid, 'SIGKILL');
    if (containment && e.contained) await containment.kill(e.key).catch(() => undefined);
  };

  const markRunning = (e: Task, st: StatusRecord, notify: boolean): void => {
    // Only from starting: two looks at one task can overlap (a poll and an exit report, each
    // awaiting its reads), and the later one must not take a finished task back to running.
    if (e.status.state !== 'starting') return;
    e.supervisorPid = st.supervisorPid;
    e.status = { ...e.status, state: 'running', pid: st.pid, startedMs: st.startedMs };
    settle(e, notify);
  };

  /** The runner's own exit record, for a supervisor that died without writing one. */
  const recordLostSupervisor = async (e: Task, failedToStart: boolean, message: string): Promise<ExitRecord> => {
    // The supervisor may have written its record just before dying: that one wins.
    const late = await readJson<ExitRecord>(path.join(e.dir, FILES.exit));
    if (late) return late;
    const rec: ExitRecord = { version: RECORD_VERSION, failedToStart, code: null, signal: null, finishedMs: now(), message, writer: 'runner' };
    await writeJsonAtomic(path.join(e.dir, FILES.exit), rec);
    return rec;
  };

  /** One look at a task's directory; moves it on when something happened. */
  const check = async (e: Task, notify: boolean): Promise<void> => {
    const exit = await readJson<ExitRecord>(path.join(e.dir, FILES.exit));
    if (exit) {
      if (e.status.state === 'starting' && !exit.failedToStart) {
        // It ran and exited between two polls: report that it ran, then how it ended.
        const st = await readJson<StatusRecord>(path.join(e.dir, FILES.status));
        if (st) markRunning(e, st, notify);
      }
      return conclude(e, exit, notify);
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
      return conclude(e, rec, notify);
    }
    // running
    if (supervisorAlive(e)) return;
    if (await readJson<ExitRecord>(path.join(e.dir, FILES.exit))) return check(e, notify);
    // The supervisor is gone without a record: nobody would see the rank's exit or take its output.
    const pgid = e.status.pid;
    if (pgid !== null && groupAlive(pgid)) {
      await killRank(e);
      return; // recorded on a later poll, once the group is gone
    }
    if (containment && e.contained) await containment.kill(e.key).catch(() => undefined); // a daemon outside the group
    const rec = await recordLostSupervisor(e, false, 'the supervisor died; its rank was killed and its exit status is unknown');
    await conclude(e, rec, notify);
  };

  /** Builds the in-memory task from its directory; undefined for a forgotten one. */
  const load = async (key: TaskKey, dir: string): Promise<Task | undefined> => {
    const spec = await readJson<SpecRecord>(path.join(dir, FILES.spec)).catch(() => undefined);
    if (!spec) return undefined;
    const [status, exit, launch] = await Promise.all([
      readJson<StatusRecord>(path.join(dir, FILES.status)).catch(() => undefined),
      readJson<ExitRecord>(path.join(dir, FILES.exit)).catch(() => undefined),
      readJson<LaunchRecord>(path.join(dir, FILES.launch)).catch(() => undefined),
    ]);
    const e: Task = {
      key,
      dir,
      status: blankStatus(key),
      supervisorPid: status?.supervisorPid ?? launch?.supervisorPid ?? null,
      createdMs: spec.createdMs,
      slo: sloFromRecord(spec),
      holding: holdingFromRecord(spec),
      contained: spec.cgroup !== undefined && spec.cgroup !== null,
      stopWaiters: [],
      settleWaiters: [],
      backstop: undefined,
    };
    if (status) e.status = { ...e.status, state: 'running', pid: status.pid, startedMs: status.startedMs };
    if (exit) await conclude(e, exit, false);
    return e;
  };

  // ---- polling ---------------------------------------------------------------------------------

  const wantedDelay = (): number | undefined => {
    let any = false;
    for (const e of tasks.values()) {
      // A warm supervisor still on its IPC channel says when the rank runs, or its channel closes;
      // the native launcher says when a supervisor exits; a supervisor this runner spawned says
      // when it exits.
      if (!polled(e)) continue;
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
      for (const e of [...tasks.values()]) {
        if (closed) break;
        if (polled(e)) await check(e, true).catch(() => undefined);
      }
    } finally {
      ticking = false;
      schedule();
    }
  };

  const look = (e: Task): void => {
    if (closed || !isActive(e)) return;
    void check(e, true)
      .catch(() => undefined)
      .finally(schedule);
  };

  return {
    tasks,
    closed: () => closed,
    add(task) {
      tasks.set(taskKeyString(task.key), task);
    },
    async find(key) {
      const ks = taskKeyString(key);
      const known = tasks.get(ks);
      if (known) return known;
      const e = await load(key, taskDir(stateDir, key));
      if (!e || tasks.has(ks)) return tasks.get(ks) ?? undefined;
      tasks.set(ks, e);
      if (isActive(e)) await check(e, false).catch(() => undefined);
      schedule();
      return e;
    },
    async adoptOne(key) {
      const ks = taskKeyString(key);
      if (tasks.has(ks)) return;
      const e = await load(key, taskDir(stateDir, key));
      if (!e || tasks.has(ks)) return;
      tasks.set(ks, e);
      if (isActive(e)) await check(e, false).catch(() => undefined);
    },
    onUpdate(cb) {
      listeners.add(cb);
      return () => {
        listeners.delete(cb);
      };
    },
    emit,
    markRunning,
    conclude,
    killRank,
    look,
    schedule,
    supervisorAlive,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    release(reason) {
      for (const e of tasks.values()) {
        if (e.backstop) clearTimeout(e.backstop);
        e.backstop = undefined;
        for (const w of e.stopWaiters.splice(0)) w.reject(reason);
        settle(e, false);
      }
      listeners.clear();
    },
  };
}

/** What spec.json says of a rank's GPUs and account; a malformed gpus field reads as none. */
function holdingFromRecord(spec: SpecRecord): { gpus: number[]; owner: string } {
  const gpus = Array.isArray(spec.gpus) ? spec.gpus.filter((g): g is number => Number.isSafeInteger(g) && g >= 0) : [];
  const owner = spec.user?.name ?? spec.env?.USER ?? spec.runAs ?? '';
  return { gpus, owner: typeof owner === 'string' ? owner : '' };
}
