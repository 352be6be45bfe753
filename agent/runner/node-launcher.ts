/**
 * The Node supervisor's launcher (supervisor.ts): hands a task to a warm supervisor, booted ahead
 * of time into a pool, when one is ready, else spawns a cold one. It also starts what the native
 * launcher cannot (native-launcher.ts falls back to it). See docs/runner.md#warm-supervisors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import path from 'node:path';
import { FILES, tasksRoot } from './layout.js';
import { childAlive, spawnHelper, statusRecordOf, supervisorEnv, type LaunchHost, type SupervisorLauncher } from './launcher.js';
import { RECORD_VERSION, writeJsonAtomic, type ExitRecord, type LaunchRecord } from './records.js';
import type { Reporter, Task } from './task-table.js';

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

export interface NodeLauncherOptions {
  /** The compiled supervisor.js. */
  supervisorPath: string;
  /** Warm supervisors to keep booted (0: every start is cold). */
  warmSupervisors: number;
  warmRefillDelayMs?: number | undefined;
}

interface Warm {
  child: ChildProcess;
  /** It said {op:'ready'}: booted and listening. */
  ready: boolean;
}

/** A task handed to a warm supervisor, while its IPC channel is open: its messages say when the rank runs. */
class HandOff implements Reporter {
  constructor(readonly child: ChildProcess) {}
  alive(): boolean {
    return childAlive(this.child);
  }
}

export function createNodeLauncher(host: LaunchHost, opts: NodeLauncherOptions): SupervisorLauncher {
  const { stateDir, now } = host;
  const supervisorPath = opts.supervisorPath;
  const warmTarget = opts.warmSupervisors;
  const warmRefillMs = opts.warmRefillDelayMs ?? DEFAULT_WARM_REFILL_MS;
  const pool: Warm[] = [];
  let refillTimer: NodeJS.Timeout | undefined;
  let warmFailures = 0;
  let warmUsed = 0;
  let coldStarts = 0;

  /** Keeps the supervisor's process handle on the task and looks at the task's records when it exits. */
  const watchOwn = (e: Task, child: ChildProcess): void => {
    e.child = child;
    child.once('exit', () => {
      // During a warm hand-off the hand-off's own listener looks; a replaced child is not ours.
      if (e.child !== child || (e.reporter instanceof HandOff && e.reporter.child === child)) return;
      host.look(e);
    });
  };

  // ---- the warm pool ---------------------------------------------------------------------------

  /** Spawns one idle warm supervisor into the pool; false when it cannot. */
  const spawnWarm = (): boolean => {
    if (host.closed() || !existsSync(supervisorPath)) return false;
    // Like a cold one, plus the IPC channel it is handed its task on.
    const child = spawnHelper(stateDir, process.execPath, [...SUPERVISOR_NODE_FLAGS, supervisorPath, '--warm', tasksRoot(stateDir), ' '.repeat(WARM_TITLE_ROOM)], WARM_LOG, (out) => [
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
      if (i < 0) return; // handed a task: the task watches it
      pool.splice(i, 1);
      if (host.closed()) return;
      // Died idle (killed, or broken): replace it, more slowly each time it happens again.
      warmFailures++;
      scheduleRefill(Math.min(WARM_BACKOFF_MAX_MS, Math.max(warmRefillMs, 100) * 2 ** warmFailures));
    });
    return true;
  };

  const fillPool = (): void => {
    while (!host.closed() && pool.length < warmTarget) if (!spawnWarm()) break;
  };

  /** Refills after delayMs; every call restarts the delay, so a burst of starts is never slowed by refills. */
  const scheduleRefill = (delayMs: number): void => {
    if (host.closed() || warmTarget === 0) return;
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

  // ---- starts ----------------------------------------------------------------------------------

  /** Spawns a supervisor for e's task (cold: a node process boots); false when that failed (recorded). */
  const spawnCold = async (e: Task): Promise<boolean> => {
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
      await host.ended(e, rec);
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
  const handOff = async (e: Task, child: ChildProcess): Promise<void> => {
    warmUsed++;
    watchOwn(e, child); // before the hand-off's own exit listener, which runs first while the hand-off covers the task
    const h = new HandOff(child);
    e.reporter = h;
    e.supervisorPid = child.pid!;
    const done = (): void => {
      if (e.reporter !== h) return;
      e.reporter = undefined;
      if (host.closed()) return;
      // Gone or disconnected without saying the rank runs: the records say what happened.
      if (e.status.state === 'starting') host.look(e);
      else host.schedule(); // polled again from now on, like any supervisor
    };
    child.on('message', (m: { op?: unknown; status?: unknown } | null) => {
      if (e.reporter !== h) return;
      if (m?.op === 'started') {
        const st = statusRecordOf(m.status);
        if (st && e.status.state === 'starting') host.running(e, st);
      } else if (m?.op === 'refused') {
        e.reporter = undefined;
        e.supervisorPid = null;
        warmUsed--;
        void spawnCold(e)
          .then(() => host.schedule())
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

  return {
    path: supervisorPath,
    prepare: fillPool,
    async launch(e) {
      if (warmTarget > 0) scheduleRefill(warmRefillMs);
      const warm = takeWarm();
      if (warm) {
        await handOff(e, warm);
        return true;
      }
      return spawnCold(e);
    },
    stats() {
      const ready = pool.filter((w) => w.ready).length;
      return { ready, booting: pool.length - ready, used: warmUsed, cold: coldStarts, native: 0 };
    },
    close() {
      if (refillTimer) clearTimeout(refillTimer);
      refillTimer = undefined;
      // An idle warm supervisor exits when its channel closes.
      for (const w of pool) {
        try {
          w.child.disconnect();
        } catch {
          // already gone
        }
      }
    },
  };
}
