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

/**
 * Runs a daemon until SIGTERM or SIGINT, then stops it gracefully. A second signal exits at once.
 * SIGHUP calls the daemon's reload(), when it has one. Returns the exit code.
 */
export async function runUntilSignalled(daemon: Daemon, onStopError: (e: unknown) => void, onReloadError: (e: unknown) => void = onStopError): Promise<number> {
  if (daemon.reload) {
    const reload = daemon.reload.bind(daemon);
    process.on('SIGHUP', () => void Promise.resolve().then(reload).catch(onReloadError));
  }
  await daemon.start();
  return new Promise<number>((resolve) => {
    let stopping = false;
    const handler = (): void => {
      if (stopping) process.exit(1);
      stopping = true;
      daemon.stop().then(
        () => resolve(0),
        (e: unknown) => {
          onStopError(e);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}
