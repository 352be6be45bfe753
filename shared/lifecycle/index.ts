/** Lifecycle of a daemon, one string union for all of them. */
export type Lifecycle = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface Daemon {
  readonly lifecycle: Lifecycle;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs a daemon until SIGTERM or SIGINT, then stops it gracefully. A second signal exits at once.
 * Returns the exit code.
 */
export async function runUntilSignalled(daemon: Daemon, onStopError: (e: unknown) => void): Promise<number> {
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
