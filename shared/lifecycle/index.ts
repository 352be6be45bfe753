/** Lifecycle of a daemon, one string union for all of them. */
export type Lifecycle = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface Daemon {
  readonly lifecycle: Lifecycle;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * SIGHUP: re-read what the daemon documents as reloadable (absent: SIGHUP keeps its default,
   * ending the process). It may report what it read (the scheduler does); a throw is logged.
   */
  reload?(): unknown;
}

export interface SignalOptions {
  /** After start() resolved (the scheduler sends READY=1 here; the watchdog pings start). */
  onStarted?(): void;
  /** At the first SIGTERM/SIGINT, before stop() (STOPPING=1). */
  onStopping?(): void;
  /** stop() that takes longer than this is abandoned: the run resolves with 1 (undefined: no bound). */
  stopTimeoutMs?: number;
  /** Called when stopTimeoutMs passed (to log it). */
  onStopTimeout?(ms: number): void;
}

/**
 * Runs a daemon until SIGTERM or SIGINT, then stops it gracefully. A second signal exits at once.
 * SIGHUP calls the daemon's reload(), when it has one. Returns the exit code: 0 after a clean stop,
 * 1 when stop() threw or ran past opts.stopTimeoutMs.
 */
export async function runUntilSignalled(
  daemon: Daemon,
  onStopError: (e: unknown) => void,
  onReloadError: (e: unknown) => void = onStopError,
  opts: SignalOptions = {},
): Promise<number> {
  if (daemon.reload) {
    const reload = daemon.reload.bind(daemon);
    process.on('SIGHUP', () => void Promise.resolve().then(reload).catch(onReloadError));
  }
  await daemon.start();
  opts.onStarted?.();
  return new Promise<number>((resolve) => {
    let stopping = false;
    const handler = (): void => {
      if (stopping) process.exit(1);
      stopping = true;
      opts.onStopping?.();
      let bound: NodeJS.Timeout | undefined;
      if (opts.stopTimeoutMs !== undefined) {
        const ms = opts.stopTimeoutMs;
        bound = setTimeout(() => {
          opts.onStopTimeout?.(ms);
          resolve(1);
        }, ms);
      }
      daemon.stop().then(
        () => {
          clearTimeout(bound);
          resolve(0);
        },
        (e: unknown) => {
          clearTimeout(bound);
          onStopError(e);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}
