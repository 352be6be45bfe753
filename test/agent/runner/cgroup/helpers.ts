/** Helpers of the cgroup tests: a unique test root, processes started inside a leaf, and cleanup. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BasePlan } from '../../../../agent/runner/cgroup/index.js';

/** A cgroupRoot no other test run shares: `/gantry-test-<pid>-<random>`. */
export function uniqueTestRoot(): string {
  return `/gantry-test-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export interface Started {
  child: ChildProcess;
  pid: number;
  /** Exit code and signal, once it ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: () => string;
}

/**
 * Starts `script` (sh) after moving the shell into each of `leaves` (its cgroup.procs), so the
 * script and everything it starts run inside them. Exits 97 if a move fails.
 */
export function startInLeaves(leaves: string[], script: string): Started {
  const moves = leaves.map((d) => `echo $$ > '${d}/cgroup.procs' || exit 97`).join('; ');
  const child = spawn('/bin/sh', ['-c', `${moves}; ${script}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  if (child.pid === undefined) throw new Error('sh did not start');
  return { child, pid: child.pid, exited, stdout: () => out };
}

/** Whether a pid is alive (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Kills everything in a cgroup tree and removes it, deepest first (teardown: even after a failure). */
export async function removeTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    try {
      if (statSync(p).isDirectory()) await removeTree(p);
    } catch {
      // gone meanwhile
    }
  }
  for (let i = 0; i < 100; i++) {
    let pids: number[] = [];
    try {
      pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return;
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    try {
      rmdirSync(dir);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Every `<mount><base>` of a plan (the test root in each hierarchy). */
export function baseDirs(plan: BasePlan): string[] {
  return plan.hierarchies.map((h) => `${h.mountPoint}${h.base}`);
}
