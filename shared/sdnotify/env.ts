/**
 * The sd_notify environment, read in this one place for both daemons: NOTIFY_SOCKET (where to
 * send), WATCHDOG_USEC and WATCHDOG_PID (whether, and how often, to ping the watchdog).
 * Pure: the caller passes the environment and its own pid.
 */

export interface NotifyEnv {
  /** $NOTIFY_SOCKET: an absolute path, or an abstract name written "@name"; undefined: not under a notify-type unit. */
  socket: string | undefined;
  /** Half of WATCHDOG_USEC, in ms (what sd_watchdog_enabled advises); undefined: no watchdog, or it is another process's. */
  watchdogIntervalMs: number | undefined;
  /** Why a variable that was set is ignored (logged once at start); empty when all is well. */
  problems: string[];
}

/** The names a daemon reads and then removes, so its children (ranks, supervisors) never see them. */
export const NOTIFY_ENV_NAMES = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

/** A socket address longer than this does not fit sockaddr_un's sun_path (108 bytes with the NUL). */
const MAX_SOCKET_BYTES = 107;

export function parseNotifyEnv(env: Readonly<Record<string, string | undefined>>, pid: number): NotifyEnv {
  const problems: string[] = [];
  let socket: string | undefined = env.NOTIFY_SOCKET || undefined;
  if (socket !== undefined && !((socket.startsWith('/') || socket.startsWith('@')) && socket.length >= 2 && Buffer.byteLength(socket) <= MAX_SOCKET_BYTES)) {
    problems.push(`NOTIFY_SOCKET ${JSON.stringify(socket)} is neither an absolute path nor an @abstract name of at most ${MAX_SOCKET_BYTES} bytes; not notifying`);
    socket = undefined;
  }
  let watchdogIntervalMs: number | undefined;
  const usecText = env.WATCHDOG_USEC;
  if (usecText !== undefined && usecText !== '') {
    const usec = /^\d{1,15}$/.test(usecText) ? Number(usecText) : NaN;
    const pidText = env.WATCHDOG_PID;
    if (!(usec > 0)) {
      problems.push(`WATCHDOG_USEC ${JSON.stringify(usecText)} is not a positive number of microseconds; no watchdog pings`);
    } else if (pidText !== undefined && pidText !== '' && pidText !== String(pid)) {
      // systemd sets WATCHDOG_PID to the main process; a watchdog meant for another process is not ours.
    } else if (socket !== undefined) {
      watchdogIntervalMs = Math.max(1, Math.floor(usec / 2000));
    }
  }
  return { socket, watchdogIntervalMs, problems };
}
