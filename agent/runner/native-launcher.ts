/**
 * The native supervisor's launcher: one long-lived `gantry-supervisor --launcher` process per
 * runner forks a supervisor per task it is sent (`<id> <taskDir>` on its stdin) and reports on its
 * stdout: spawned, started, failed, refused, exit (see native/gantry-supervisor.c). Those reports,
 * not polls, move the task on. What it cannot start (no launcher, a refused directory) the Node
 * launcher starts instead. See docs/runner.md#the-native-supervisor.
 */
import { existsSync } from 'node:fs';
import { tasksRoot } from './layout.js';
import { childAlive, spawnHelper, statusRecordOf, type LaunchHost, type SupervisorLauncher } from './launcher.js';
import type { ChildProcess } from 'node:child_process';
import type { Reporter, Task } from './task-table.js';

/**
 * Room the launcher's argv keeps (a padding argument) for the command line each supervisor it
 * forks writes there, `<gantry-supervisor> <taskDir> <id>`: the binary's path and a task dir of up
 * to 500 characters besides the tasks root. A longer one is exec'd instead (the same, slower).
 */
const LAUNCHER_TITLE_ROOM = 512;
/** Output of the native supervisor's launcher (under the state dir). */
const LAUNCHER_LOG = 'launcher.log';

/** A task the launcher was asked to start, until it says its supervisor exited: its reports cover the task. */
const REPORTED: Reporter = { alive: () => true };

interface Request {
  task: Task;
  id: string;
}

/** The launcher process. */
interface Launcher {
  child: ChildProcess;
  /** Requests by id, until the supervisor exits. */
  byId: Map<string, Task>;
  /** Supervisors by pid, once the launcher said it spawned them. */
  byPid: Map<number, Request>;
}

export interface NativeLauncherOptions {
  /** The gantry-supervisor binary. */
  nativePath: string;
  /** Starts what the launcher cannot: the Node launcher. */
  fallback: SupervisorLauncher;
}

export function createNativeLauncher(host: LaunchHost, opts: NativeLauncherOptions): SupervisorLauncher {
  const { nativePath, fallback } = opts;
  const stateDir = host.stateDir;
  let launcher: Launcher | undefined;
  let seq = 0;
  let nativeStarts = 0;

  /** The launcher's reports no longer cover the task: it is looked at by polls (or its own report). */
  const uncover = (e: Task): void => {
    if (e.reporter === REPORTED) e.reporter = undefined;
  };

  /** One line of the launcher's reports (see native/gantry-supervisor.c). */
  const onLine = (l: Launcher, line: string): void => {
    const [op, a = '', ...rest] = line.split(' ');
    switch (op) {
      case 'spawned': {
        const e = l.byId.get(a);
        const pid = Number(rest[0]);
        if (!e || !Number.isSafeInteger(pid) || pid <= 0) return;
        if (e.supervisorPid === null) e.supervisorPid = pid;
        l.byPid.set(pid, { task: e, id: a });
        return;
      }
      case 'started': {
        const e = l.byId.get(a);
        const [supervisorPid, pid, pgid, startedMs] = rest.map(Number);
        const st = statusRecordOf({ supervisorPid, pid, pgid, startedMs });
        if (e && st && e.status.state === 'starting') host.running(e, st);
        return;
      }
      case 'failed': {
        // It wrote exit.json (the rank never ran) and is about to exit.
        const e = l.byId.get(a);
        if (e) host.look(e);
        return;
      }
      case 'refused': {
        // Not forked (no process, or a directory it will not take): a Node supervisor runs it instead.
        const e = l.byId.get(a);
        l.byId.delete(a);
        if (!e || host.closed()) return;
        uncover(e);
        nativeStarts--;
        void fallback
          .launch(e)
          .then(() => host.schedule())
          .catch(() => undefined);
        return;
      }
      case 'exit': {
        const pid = Number(a);
        const r = l.byPid.get(pid);
        if (!r) return;
        l.byPid.delete(pid);
        l.byId.delete(r.id);
        uncover(r.task);
        host.look(r.task);
        return;
      }
      default:
    }
  };

  /** Spawns the launcher (once per runner; again if it died); undefined when it cannot. */
  const startLauncher = (): Launcher | undefined => {
    if (host.closed() || !existsSync(nativePath)) return undefined;
    const child = spawnHelper(stateDir, nativePath, ['--launcher', tasksRoot(stateDir), ' '.repeat(LAUNCHER_TITLE_ROOM)], LAUNCHER_LOG, (out) => ['pipe', 'pipe', out]);
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
        onLine(l, line);
      }
    });
    child.once('exit', () => {
      if (launcher === l) launcher = undefined;
      // Its supervisors live on (reparented); nobody reports their exits now: poll them.
      const orphans = new Set([...l.byId.values(), ...[...l.byPid.values()].map((r) => r.task)]);
      l.byId.clear();
      l.byPid.clear();
      for (const e of orphans) {
        uncover(e);
        host.look(e);
      }
    });
    return l;
  };

  /** Sends e's task to the launcher; false when there is none. */
  const send = (e: Task): boolean => {
    if (e.dir.includes('\n')) return false;
    if (launcher && (!childAlive(launcher.child) || !launcher.child.stdin?.writable)) launcher = undefined;
    launcher ??= startLauncher();
    if (!launcher) return false;
    const id = String(++seq);
    launcher.byId.set(id, e);
    e.reporter = REPORTED;
    nativeStarts++;
    launcher.child.stdin!.write(`${id} ${e.dir}\n`);
    return true;
  };

  return {
    path: nativePath,
    prepare() {
      fallback.prepare();
      launcher ??= startLauncher();
    },
    async launch(e) {
      // The launcher reports the rank's start, or the supervisor's exit.
      if (send(e)) return true;
      return fallback.launch(e);
    },
    stats() {
      return { ...fallback.stats(), native: nativeStarts };
    },
    close() {
      fallback.close();
      // The launcher exits at the end of its input (the supervisors it forked live on).
      launcher?.child.stdin?.end();
      launcher = undefined;
    },
  };
}
