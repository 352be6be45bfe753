/**
 * Bounded process runner for external probes (nvidia-smi, amd-smi, ...).
 *
 * - execFile-style: argv, never a shell.
 * - The child is spawned detached (its own process group); on timeout or output overflow the whole
 *   group gets SIGKILL (`kill(-pid)`), so a hung tool's own children die with it.
 * - Output is capped (maxOutputBytes over stdout + stderr); past the cap the group is killed.
 * - Never two probes of the same kind at once. Policy (per kind, default kind = command + argv):
 *     * a call with the same argv as the one in flight JOINS it and gets the same result/error
 *       (single-flight: no second nvidia-smi is started);
 *     * a call with different argv under the same explicit kind WAITS for the one in flight to
 *       finish, then runs;
 *     * if a previous probe of the kind was killed but its process has not exited yet (a process
 *       stuck in the kernel, e.g. on a GPU that fell off the bus, ignores SIGKILL until the driver
 *       lets go), new calls fail at once with ProbeTimeoutError instead of piling up more stuck
 *       processes. The kind frees itself when that process finally exits.
 * - A timed-out call rejects as soon as the kill is sent; it does not wait for the process to die.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { ProbeFailedError, ProbeTimeoutError } from '../../shared/errors/index.js';
import type { ProbeResult } from '../core/index.js';

export interface RunOptions {
  /** Wall-clock limit; past it the process group is killed and ProbeTimeoutError thrown. */
  timeoutMs: number;
  /** Cap on stdout + stderr bytes (default 16 MiB); past it the group is killed and ProbeFailedError thrown. */
  maxOutputBytes?: number;
  /** Serialisation key; defaults to the command and its arguments. */
  kind?: string;
  /** Environment of the child (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Resolve instead of throwing when the exit code is non-zero (default false). */
  allowNonZeroExit?: boolean;
  /** Called with the child's pid (= its process group id) once it has started; for tests and logs. */
  onSpawn?: (pid: number) => void;
}

export interface ProbeRunner {
  run(command: string, args: readonly string[], options: RunOptions): Promise<ProbeResult>;
  /** Kinds that currently have a process running or stuck after a kill. */
  busyKinds(): string[];
}

export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

interface KindState {
  argvKey: string;
  promise: Promise<ProbeResult>;
  /** Settles when the child process has exited (or failed to start). */
  exited: Promise<void>;
  /** Set once the probe was killed by us and has not exited yet. */
  stuck: boolean;
}

function describe(command: string, args: readonly string[]): string {
  return [command, ...args].join(' ');
}

/** Send SIGKILL to the whole process group, falling back to the single process. */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

interface Spawned {
  result: Promise<ProbeResult>;
  exited: Promise<void>;
  onKilled: (cb: () => void) => void;
}

function spawnBounded(command: string, args: readonly string[], options: RunOptions): Spawned {
  const what = describe(command, args);
  const maxBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  let killedCb: (() => void) | undefined;
  let resolveExited!: () => void;
  const exited = new Promise<void>((r) => (resolveExited = r));

  const result = new Promise<ProbeResult>((resolve, reject) => {
    const started = performance.now();
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };

    let child;
    try {
      child = spawn(command, [...args], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: options.env ?? process.env,
        shell: false,
        windowsHide: true,
      });
    } catch (err) {
      resolveExited();
      reject(new ProbeFailedError(what, `cannot start: ${(err as Error).message}`, null, { cause: err }));
      return;
    }

    const out: Buffer[] = [];
    const errChunks: Buffer[] = [];
    let bytes = 0;
    let overflow = false;

    const kill = (): void => {
      killGroup(child.pid);
      killedCb?.();
    };

    const timer = setTimeout(() => {
      kill();
      settle(() => reject(new ProbeTimeoutError(what, options.timeoutMs)));
    }, options.timeoutMs);

    const onData = (sink: Buffer[]) => (chunk: Buffer) => {
      if (overflow) return;
      bytes += chunk.length;
      if (bytes > maxBytes) {
        overflow = true;
        kill();
        settle(() => reject(new ProbeFailedError(what, `output exceeded ${maxBytes} bytes; killed`)));
        return;
      }
      sink.push(chunk);
    };
    child.stdout?.on('data', onData(out));
    child.stderr?.on('data', onData(errChunks));

    if (child.pid !== undefined) options.onSpawn?.(child.pid);

    child.on('error', (err: NodeJS.ErrnoException) => {
      resolveExited();
      settle(() =>
        reject(new ProbeFailedError(what, `cannot run: ${err.code ?? ''} ${err.message}`.trim(), null, { cause: err })),
      );
    });
    child.on('exit', () => resolveExited());
    child.on('close', (code, signal) => {
      resolveExited();
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(errChunks).toString('utf8');
      const durationMs = performance.now() - started;
      settle(() => {
        if (signal !== null || code === null) {
          reject(new ProbeFailedError(what, `killed by signal ${signal ?? 'unknown'}`, null));
          return;
        }
        if (code !== 0 && !options.allowNonZeroExit) {
          const detail = firstLine(stderr) || firstLine(stdout) || 'no output';
          reject(new ProbeFailedError(what, `exited with code ${code}: ${detail}`, code));
          return;
        }
        resolve({ stdout, stderr, exitCode: code, durationMs });
      });
    });
  });
  return { result, exited, onKilled: (cb) => (killedCb = cb) };
}

function firstLine(s: string): string {
  const t = s.trim();
  if (!t) return '';
  const line = t.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

/** A runner with per-kind serialisation (see the module comment for the policy). */
export function createProbeRunner(): ProbeRunner {
  const kinds = new Map<string, KindState>();

  const start = (kind: string, argvKey: string, command: string, args: readonly string[], options: RunOptions): KindState => {
    const spawned = spawnBounded(command, args, options);
    const state: KindState = { argvKey, promise: spawned.result, exited: spawned.exited, stuck: false };
    spawned.onKilled(() => {
      state.stuck = true;
    });
    kinds.set(kind, state);
    // Free the kind once the process has exited AND the call settled.
    const release = (): void => {
      if (kinds.get(kind) === state) kinds.delete(kind);
    };
    void Promise.allSettled([spawned.result, spawned.exited]).then(release);
    return state;
  };

  const run = async (command: string, args: readonly string[], options: RunOptions): Promise<ProbeResult> => {
    const argvKey = JSON.stringify([command, ...args]);
    const kind = options.kind ?? argvKey;
    for (;;) {
      const current = kinds.get(kind);
      if (!current) return start(kind, argvKey, command, args, options).promise;
      if (current.stuck) {
        throw new ProbeTimeoutError(`${describe(command, args)} (previous probe still stuck after kill)`, options.timeoutMs);
      }
      if (current.argvKey === argvKey) return current.promise;
      await Promise.allSettled([current.promise, current.exited]);
      // Let the release callback run before looking again.
      await new Promise<void>((r) => setImmediate(r));
    }
  };

  return {
    run,
    busyKinds: () => [...kinds.keys()],
  };
}

let shared: ProbeRunner | undefined;
/** The process-wide runner, so every collector shares the per-kind serialisation. */
export function defaultProbeRunner(): ProbeRunner {
  shared ??= createProbeRunner();
  return shared;
}
