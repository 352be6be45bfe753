/** Shared by the cgroup tests: cgroup directories of their own (removed in teardown) and a probe that opens device files from inside one. */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';

export const DEVICE_HELPER = path.resolve(import.meta.dirname, '../../../../dist/agent/runner/gantry-devices');
export const V2_ROOT = '/sys/fs/cgroup/unified';
export const V1_DEVICES_ROOT = '/sys/fs/cgroup/devices';
const root = process.getuid?.() === 0;
/** Why the v2 device tests cannot run here, or false. */
export const skipV2 = !root ? 'needs root' : !existsSync(path.join(V2_ROOT, 'cgroup.procs')) ? `no cgroup v2 at ${V2_ROOT}` : !existsSync(DEVICE_HELPER) ? `no ${DEVICE_HELPER} (npm run build)` : false;
/** Why the v1 device tests cannot run here, or false. */
export const skipV1 = !root ? 'needs root' : !existsSync(path.join(V1_DEVICES_ROOT, 'devices.allow')) ? `no v1 devices hierarchy at ${V1_DEVICES_ROOT}` : false;

/** A cgroup directory of its own under `parent`, removed in teardown (after its processes are gone). */
export function cgroupDir(t: Test, parent: string): string {
  const dir = path.join(parent, `gantry-test-devices-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir);
  t.teardown(async () => {
    for (let i = 0; i < 50; i++) {
      try {
        rmdirSync(dir);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    rmdirSync(dir);
  });
  return dir;
}

/** Node code that opens each [file, flags] of argv[1] (JSON) and prints 'ok' or the error code of each. */
export const PROBE = `
const fs = require('node:fs');
const out = [];
for (const [file, flags] of JSON.parse(process.argv[1])) {
  try { fs.closeSync(fs.openSync(file, flags)); out.push('ok'); } catch (e) { out.push(e.code); }
}
process.stdout.write(JSON.stringify(out));
`;

/** Runs the probe inside `dir` (the shell moves itself in, then execs node): 'ok' or the errno code per open. */
export function opensIn(t: Test, dir: string, opens: Array<[string, string]>): Promise<string[]> {
  const child = spawn('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec "$0" -e "$1" "$2"`, process.execPath, PROBE, JSON.stringify(opens)], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`probe timed out; stderr: ${err}`)), 10_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`probe exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as string[]);
    });
  });
}
