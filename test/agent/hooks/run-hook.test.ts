/** runHook with real processes: exit codes, a bounded output tail, a missing executable, stragglers killed, the timeout. */
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describeHookRun, runHook } from '../../../agent/hooks/index.js';
import { tempDir, waitFor } from '../../harness/cluster.js';

const script = (dir: string, name: string, body: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return p;
};
const gone = (pid: number): boolean => !existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

t.test('a passing hook gets exactly the environment given', async (t) => {
  const dir = tempDir(t, 'gantry-hook-');
  const p = script(dir, 'ok.sh', 'echo "job=$GANTRY_JOB_ID home=${HOME:-unset}"');
  const r = await runHook({ hook: 'prolog', path: p, env: { PATH: '/usr/bin:/bin', GANTRY_JOB_ID: 'j1' }, timeoutMs: 10_000 });
  t.equal(r.result, 'passed');
  t.equal(r.exitCode, 0);
  t.equal(r.tail, 'job=j1 home=unset');
  t.equal(describeHookRun(r), '', 'a passing run has no reason');
});

t.test('a failing hook: its code and the last bytes of its output', async (t) => {
  const dir = tempDir(t, 'gantry-hook-');
  const p = script(dir, 'fail.sh', 'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done; echo "the end" >&2; exit 7');
  const r = await runHook({ hook: 'epilog', path: p, env: { PATH: '/usr/bin:/bin' }, timeoutMs: 10_000, tailBytes: 64 });
  t.equal(r.result, 'failed');
  t.equal(r.exitCode, 7);
  t.ok(r.tail.length <= 64, `the tail is bounded (${r.tail.length} bytes)`);
  t.match(r.tail, /the end$/, 'and is the end of the output');
  t.match(describeHookRun(r), new RegExp(`^epilog ${p} exited with code 7; output: .*the end$`));
});

t.test('a missing executable cannot be started', async (t) => {
  const r = await runHook({ hook: 'prolog', path: '/nonexistent/prolog', env: {}, timeoutMs: 10_000 });
  t.equal(r.result, 'unstartable');
  t.match(describeHookRun(r), /^prolog \/nonexistent\/prolog could not be started: ENOENT/);
});

t.test('a hook that exits leaves nothing behind in its process group, even holding its output open', async (t) => {
  const dir = tempDir(t, 'gantry-hook-');
  const p = script(dir, 'bg.sh', `sleep 300 & echo $! > "${dir}/child"; echo started`);
  const r = await runHook({ hook: 'prolog', path: p, env: { PATH: '/usr/bin:/bin' }, timeoutMs: 20_000 });
  t.equal(r.result, 'passed', 'not held until the timeout by the child keeping stdout open');
  t.equal(r.tail, 'started');
  const child = Number(readFileSync(path.join(dir, 'child'), 'utf8'));
  await waitFor('the background child killed', () => gone(child), 10_000);
});

t.test('past the timeout the whole group is killed: a timeout', async (t) => {
  const dir = tempDir(t, 'gantry-hook-');
  const p = script(dir, 'hang.sh', `sleep 300 & echo $! > "${dir}/child"; echo waiting; wait`);
  const r = await runHook({ hook: 'prolog', path: p, env: { PATH: '/usr/bin:/bin' }, timeoutMs: 500 });
  t.equal(r.result, 'timeout');
  t.equal(r.signal, 'SIGKILL');
  t.match(describeHookRun(r), /timed out after 500 ms \(hooks\.timeoutMs\) and was killed; output: waiting$/);
  await waitFor('its child killed with it', () => gone(Number(readFileSync(path.join(dir, 'child'), 'utf8'))), 10_000);
});
