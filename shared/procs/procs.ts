/**
 * Child-process helpers used by `gantry demo` and the test harness: free ports, waiting for a
 * port or a log line, and stopping a child (SIGTERM, then SIGKILL after a grace period).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import net from 'node:net';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

export async function waitForPort(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Child {
  readonly proc: ChildProcess;
  readonly name: string;
  /** Everything the child wrote to stderr and stdout so far. */
  output(): string;
  /** Resolves with the first JSON log line (pino, on stderr) whose msg matches. */
  waitForLog(msg: string | RegExp, timeoutMs: number): Promise<Record<string, unknown>>;
  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit code (or signal name). */
  stop(graceMs?: number): Promise<number | string>;
  kill(): Promise<number | string>;
  readonly exited: Promise<number | string>;
}

export function startChild(name: string, command: string, args: string[], options: SpawnOptions = {}): Child {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let out = '';
  const lineWaiters: Array<(line: string) => boolean> = [];
  let partial = '';
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    out += text;
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      for (let i = lineWaiters.length - 1; i >= 0; i--) if (lineWaiters[i]!(line)) lineWaiters.splice(i, 1);
    }
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const stop = async (graceMs = 5000): Promise<number | string> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return exited;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    const r = await exited;
    clearTimeout(t);
    return r;
  };
  return {
    proc,
    name,
    output: () => out,
    exited,
    stop,
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      return exited;
    },
    waitForLog(msg, timeoutMs) {
      const matches = (line: string): Record<string, unknown> | undefined => {
        try {
          const j = JSON.parse(line) as Record<string, unknown>;
          const m = String(j.msg ?? '');
          return (typeof msg === 'string' ? m === msg : msg.test(m)) ? j : undefined;
        } catch {
          return undefined;
        }
      };
      for (const line of out.split('\n')) {
        const j = matches(line);
        if (j) return Promise.resolve(j);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`${name}: no log ${String(msg)} within ${timeoutMs} ms; output:\n${out.slice(-3000)}`));
        }, timeoutMs);
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code}) before logging ${String(msg)}; output:\n${out.slice(-3000)}`));
        });
        lineWaiters.push((line) => {
          const j = matches(line);
          if (!j) return false;
          clearTimeout(timer);
          resolve(j);
          return true;
        });
      });
    },
  };
}

/** The package root: the first ancestor of this file holding package.json. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the package root');
    dir = up;
  }
  return dir;
}

/** The built CLI entry (dist/cli/main.js). */
export function gantryEntry(): string {
  return path.join(packageRoot(), 'dist', 'cli', 'main.js');
}

/**
 * Processes whose command line mentions `marker` (e.g. a temporary directory), found through /proc.
 * Used to make sure nothing a demo or test started under its directory outlives it.
 */
export function processesMentioning(marker: string): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(marker)) out.push(Number(e));
    } catch {
      // gone already
    }
  }
  return out;
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Stops every process whose command line mentions `marker`: SIGTERM, up to `termGraceMs` for them
 * to go (a rank supervisor stops its rank and writes its exit record in that time), then SIGKILL,
 * and waits up to `killWaitMs` until none is left. Resolves to how many were still there at the
 * end, which is 0 unless something ignores SIGKILL (a process in uninterruptible sleep).
 */
export async function stopProcessesMentioning(marker: string, termGraceMs = 5000, killWaitMs = 5000): Promise<number> {
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const waitGone = async (ms: number): Promise<number[]> => {
    const until = Date.now() + ms;
    let left = processesMentioning(marker);
    while (left.length > 0 && Date.now() < until) {
      await sleep(50);
      left = processesMentioning(marker);
    }
    return left;
  };
  const first = processesMentioning(marker);
  if (first.length === 0) return 0;
  signalAll(first, 'SIGTERM');
  const left = await waitGone(termGraceMs);
  if (left.length === 0) return 0;
  signalAll(left, 'SIGKILL');
  return (await waitGone(killWaitMs)).length;
}
