/**
 * sd_notify for the daemons (Type=notify units): READY=1, STATUS=, WATCHDOG=1, STOPPING=1.
 *
 * Node cannot send to a unix datagram socket, so messages go through a helper:
 * - native (preferred): dist/shared/sdnotify/gantry-notify, built by `npm run build` from
 *   shared/sdnotify/native/gantry-notify.c; started once, it reads one message per line on its
 *   stdin and sends each as a datagram. A watchdog ping costs a pipe write, no process.
 * - systemd-notify: where the native build is missing (no C compiler), one `systemd-notify`
 *   process per message (--pid=PID as root), so every WATCHDOG_USEC/2: cheap at WatchdogSec=30s.
 * - none: neither found; said once in the log (a Type=notify unit then times out at its start).
 *
 * The watchdog is a timer on the daemon's event loop: a loop that is stuck sends no pings, and
 * systemd restarts the service after WatchdogSec.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log/index.js';
import { packageRoot } from '../procs/index.js';
import { NOTIFY_ENV_NAMES, parseNotifyEnv } from './env.js';

export type NotifyVia = 'native' | 'systemd-notify' | 'none' | 'off';

export interface ServiceNotifier {
  /** How messages go out; 'off' when the daemon is not under a notify-type unit (no NOTIFY_SOCKET). */
  readonly via: NotifyVia;
  /** The watchdog ping interval (WATCHDOG_USEC/2), undefined when systemd runs no watchdog for us. */
  readonly watchdogIntervalMs: number | undefined;
  /** READY=1 (once; later calls only update STATUS). */
  ready(status?: string): void;
  status(text: string): void;
  /** STOPPING=1, and the watchdog pings stop. */
  stopping(status?: string): void;
  /** Starts the WATCHDOG=1 timer (no-op without a watchdog); unref'd, so it never holds the process open. */
  startWatchdog(): void;
  /** Ends the watchdog and the helper (after the last message is written). */
  close(): void;
}

export interface NotifierOptions {
  log: Logger;
  /** The native helper; default next to this module (dist/shared/sdnotify/gantry-notify). */
  helperPath?: string;
  /** PATH to look for systemd-notify on; default the environment's. */
  envPath?: string;
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** dist/shared/sdnotify/gantry-notify: beside this module when built, under the package's dist/ when run from source (tests). */
export function defaultHelperPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return path.join(path.dirname(here), 'gantry-notify');
  return path.join(packageRoot(), 'dist', 'shared', 'sdnotify', 'gantry-notify');
}

function findOnPath(name: string, envPath: string | undefined): string | undefined {
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (dir && executable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/**
 * Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from `env` and removes them from it (ranks
 * and supervisors started later must not inherit them), and returns the daemon's notifier.
 */
export function serviceNotifier(env: Record<string, string | undefined>, opts: NotifierOptions): ServiceNotifier {
  const parsed = parseNotifyEnv(env, process.pid);
  for (const name of NOTIFY_ENV_NAMES) delete env[name];
  for (const p of parsed.problems) opts.log.warn(p);
  const socket = parsed.socket;
  const log = opts.log;
  let via: NotifyVia = 'off';
  let send: (msg: string) => void = () => undefined;
  let helper: ChildProcess | undefined;
  if (socket !== undefined) {
    const native = opts.helperPath ?? defaultHelperPath();
    const systemdNotify = findOnPath('systemd-notify', opts.envPath ?? env.PATH ?? process.env.PATH);
    if (executable(native)) {
      via = 'native';
      const child = spawn(native, [socket, String(process.pid)], { stdio: ['pipe', 'ignore', 'pipe'] });
      helper = child;
      child.stderr!.setEncoding('utf8').on('data', (s: string) => log.warn({ err: s.trim() }, 'sd_notify helper'));
      child.stdin!.on('error', () => undefined); // a helper that died is reported by 'exit'
      child.on('error', (e) => log.warn({ err: e.message }, 'sd_notify helper failed to start'));
      child.on('exit', (code, signal) => {
        if (helper === child) log.warn({ code, signal }, 'sd_notify helper exited; no more notifications');
        helper = undefined;
      });
      child.unref();
      (child.stdin as unknown as { unref?: () => void }).unref?.();
      (child.stderr as unknown as { unref?: () => void }).unref?.();
      send = (msg) => {
        if (helper?.stdin?.writable) helper.stdin.write(msg + '\n');
      };
    } else if (systemdNotify) {
      via = 'systemd-notify';
      send = (msg) => {
        // --pid= speaks for the daemon (NotifyAccess=main) only as root; elsewhere systemd-notify's own
        // pid goes with the message (NotifyAccess=all), and a MAINPID= from it would only be refused.
        const args = process.getuid?.() === 0 ? [`--pid=${process.pid}`, msg] : [msg];
        const c = spawn(systemdNotify, args, { stdio: 'ignore', env: { ...process.env, NOTIFY_SOCKET: socket } });
        c.on('error', (e) => log.warn({ err: e.message }, 'systemd-notify failed'));
        c.unref();
      };
    } else {
      via = 'none';
      log.warn({ helper: native }, 'NOTIFY_SOCKET is set but neither the native sd_notify helper nor systemd-notify was found; systemd is not notified');
    }
    log.info({ via, watchdogIntervalMs: parsed.watchdogIntervalMs }, 'notifying systemd');
  }
  let readySent = false;
  let stopped = false;
  let watchdog: NodeJS.Timeout | undefined;
  const stopWatchdog = (): void => {
    if (watchdog) clearInterval(watchdog);
    watchdog = undefined;
  };
  return {
    via,
    watchdogIntervalMs: parsed.watchdogIntervalMs,
    ready(status) {
      if (stopped) return;
      if (status !== undefined) send(`STATUS=${status.replace(/\n/g, ' ')}`);
      if (!readySent) send('READY=1');
      readySent = true;
    },
    status(text) {
      if (!stopped) send(`STATUS=${text.replace(/\n/g, ' ')}`);
    },
    stopping(status) {
      if (stopped) return;
      stopped = true;
      stopWatchdog();
      if (status !== undefined) send(`STATUS=${status.replace(/\n/g, ' ')}`);
      send('STOPPING=1');
    },
    startWatchdog() {
      const every = parsed.watchdogIntervalMs;
      if (every === undefined || watchdog || stopped || via === 'off' || via === 'none') return;
      send('WATCHDOG=1');
      watchdog = setInterval(() => send('WATCHDOG=1'), every);
      watchdog.unref();
    },
    close() {
      stopped = true;
      stopWatchdog();
      const h = helper;
      helper = undefined;
      h?.stdin?.end();
    },
  };
}
