/**
 * Runs a prolog or epilog: the configured executable (argv of one, never a shell), as the agent's
 * own account, in its own process group, with the job's environment. On expiry of the timeout the
 * whole group gets SIGKILL and the run counts as a timeout (a failure). Only the last
 * `tailBytes` of stdout and stderr together are kept, for the reason.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { HookName, HookRun } from './outcome.js';

export interface HookSpawn {
  hook: HookName;
  path: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Bytes of output kept (the last ones); default 4096. */
  tailBytes?: number;
  /** Called with its pid (= its process group id) once started, and again with null when it has ended. */
  onProcess?(pid: number | null): void;
}

/** SIGKILL to a hook's process group (the agent stopping with a hook still running). */
export function killHookGroup(pgid: number): void {
  killGroup(pgid, false);
}

export const DEFAULT_TAIL_BYTES = 4096;

/** SIGKILL to the group; `leaderToo`: to the process itself when the group is gone (not after its exit was reaped: the pid may be reused). */
function killGroup(pid: number | undefined, leaderToo = true): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    if (!leaderToo) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Resolves when the hook has ended (or was killed at its timeout); never rejects. */
export function runHook(h: HookSpawn): Promise<HookRun> {
  const tailBytes = h.tailBytes ?? DEFAULT_TAIL_BYTES;
  const started = performance.now();
  const base = { hook: h.hook, path: h.path, timeoutMs: h.timeoutMs };
  return new Promise<HookRun>((resolve) => {
    let tail = Buffer.alloc(0);
    const keep = (chunk: Buffer): void => {
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > tailBytes) tail = tail.subarray(tail.length - tailBytes);
    };
    let child;
    try {
      child = spawn(h.path, [], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: h.env, cwd: '/', shell: false });
    } catch (e) {
      resolve({ ...base, result: 'unstartable', exitCode: null, signal: null, durationMs: performance.now() - started, tail: '', error: (e as Error).message });
      return;
    }
    if (child.pid !== undefined) h.onProcess?.(child.pid);
    let timedOut = false;
    let settled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, h.timeoutMs);
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const done = (r: Omit<HookRun, 'hook' | 'path' | 'timeoutMs' | 'durationMs' | 'tail'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.pid !== undefined) h.onProcess?.(null);
      resolve({ ...base, ...r, durationMs: performance.now() - started, tail: tail.toString('utf8').replace(/^\uFFFD+/, '').trim() });
    };
    child.on('error', (e: NodeJS.ErrnoException) => done({ result: 'unstartable', exitCode: null, signal: null, error: `${e.code ?? ''} ${e.message}`.trim() }));
    // At its exit, what it left behind in its group is killed, so the pipes close and 'close' (output drained) follows.
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      if (!timedOut) killGroup(child.pid, false);
    });
    child.on('close', (code, signal) => {
      const c = exit?.code ?? code;
      const sig = exit?.signal ?? signal;
      if (timedOut) return done({ result: 'timeout', exitCode: c, signal: sig, error: '' });
      done({ result: c === 0 ? 'passed' : 'failed', exitCode: c, signal: sig, error: '' });
    });
  });
}
