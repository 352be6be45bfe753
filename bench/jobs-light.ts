/** (light): N rank supervisors started at once, cold, lean, as a sh prototype, warm or native (see bench/jobs.ts). */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { stopProcessesMentioning } from '../shared/procs/index.js';
import { round, sleep } from './parts.js';
import { percentile } from './suite.js';
import { NATIVE_SUPERVISOR, SUPERVISOR, readRecord } from './jobs-fleet.js';
import { run } from './jobs.js';

/** A POSIX sh rank supervisor prototype: writes status.json as the real one does, then waits for the rank. */
const SH_SUPERVISOR = `#!/bin/sh
# prototype only: $1 = task dir; runs "sleep 120" in its own process group, records status and exit.
d="$1"
set -m
sleep 120 >"$d/log" 2>&1 &
pid=$!
now=$(date +%s%3N)
printf '{"version":1,"supervisorPid":%s,"pid":%s,"pgid":%s,"startedMs":%s}' $$ $pid $pid $now >"$d/status.tmp" && mv "$d/status.tmp" "$d/status.json"
trap 'kill -TERM -$pid 2>/dev/null' TERM
wait $pid
code=$?
printf '{"version":1,"writer":"supervisor","failedToStart":false,"code":%s,"signal":null,"finishedMs":%s,"message":"exited"}' $code $(date +%s%3N) >"$d/exit.json"
`;

/** Node flags that trim start-up work (no V8 worker threads, a small young generation). */
export const LEAN_NODE_FLAGS = ['--single-threaded', '--v8-pool-size=0', '--max-semi-space-size=1'];

/**
 * Spawns n supervisors at once, as n runners would, and times until every rank has started. 'warm'
 * boots n warm supervisors first (as n agents' pools would be, untimed), waits until they are
 * ready and the machine is quiet, then hands each its task over IPC at once.
 */
export async function spawnSupervisors(root: string, kind: 'node' | 'node-lean' | 'sh' | 'warm' | 'native', n: number): Promise<{ spawnLoopMs: number; allStartedMs: number; p50Ms: number }> {
  const base = path.join(root, `light-${kind}`);
  const script = path.join(root, 'sh-supervisor');
  writeFileSync(script, SH_SUPERVISOR, { mode: 0o755 });
  const dirs: string[] = [];
  for (let i = 0; i < n; i++) {
    const dir = path.join(base, 'tasks', 'light-1', String(i), '1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'spec.json'),
      JSON.stringify({ version: 1, jobId: 'light-1', rank: i, epoch: 1, command: ['sleep', '120'], env: { PATH: process.env.PATH }, workdir: '/', runAs: '', user: null, graceSeconds: 1, logMaxBytes: 1 << 20, logKeep: 1, createdMs: Date.now() }),
    );
    dirs.push(dir);
  }
  const warm: ChildProcess[] = [];
  if (kind === 'warm') {
    let ready = 0;
    for (let i = 0; i < n; i++) {
      const c = spawn(process.execPath, [SUPERVISOR, '--warm', path.join(base, 'tasks'), ' '.repeat(200)], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'], cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
      c.on('error', () => undefined);
      c.once('message', () => ready++);
      warm.push(c);
    }
    const deadline = Date.now() + 120_000;
    while (ready < n && Date.now() < deadline) await sleep(50);
    await sleep(1000);
  }
  // The native supervisor's launcher, as a runner spawns it (booted beforehand, like the warm pool).
  let launcher: ChildProcess | undefined;
  if (kind === 'native') {
    launcher = spawn(NATIVE_SUPERVISOR, ['--launcher', path.join(base, 'tasks'), ' '.repeat(512)], { detached: true, stdio: ['pipe', 'ignore', 'ignore'], cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    launcher.on('error', () => undefined);
    await sleep(500);
  }
  const t0 = Date.now();
  const p0 = performance.now();
  if (launcher) launcher.stdin!.write(dirs.map((dir, i) => `${i} ${dir}\n`).join(''));
  for (const [i, dir] of dirs.entries()) {
    if (kind === 'native') break;
    if (kind === 'warm') {
      warm[i]!.send({ op: 'run', dir });
      continue;
    }
    const [cmd, ...argv] = kind === 'sh' ? [script, dir] : kind === 'node' ? [process.execPath, SUPERVISOR, dir] : [process.execPath, ...LEAN_NODE_FLAGS, SUPERVISOR, dir];
    const c = spawn(cmd!, argv, { detached: true, stdio: 'ignore', cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    c.on('error', () => undefined);
    c.unref();
  }
  const spawnLoopMs = performance.now() - p0;
  const startedAt: number[] = [];
  const deadline = Date.now() + 120_000;
  const pending = new Set(dirs);
  while (pending.size > 0 && Date.now() < deadline) {
    for (const dir of [...pending]) {
      const st = readRecord(path.join(dir, 'status.json'));
      if (st) {
        startedAt.push(st.startedMs!);
        pending.delete(dir);
      }
    }
    if (pending.size) await sleep(20);
  }
  launcher?.stdin!.end();
  await stopProcessesMentioning(base);
  // The ranks ("sleep 120") run in their own process groups, recorded in status.json.
  for (const dir of dirs) {
    const st = readRecord(path.join(dir, 'status.json'));
    if (st?.pgid) {
      try {
        process.kill(-st.pgid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  if (pending.size) throw new Error(`${pending.size} of ${n} ${kind} supervisors never started their rank`);
  return { spawnLoopMs: round(spawnLoopMs), allStartedMs: Math.max(...startedAt) - t0, p50Ms: percentile(startedAt.map((x) => x - t0), 50) };
}

// ---- (restart) -------------------------------------------------------------------------------
