import { performance } from 'node:perf_hooks';
import t from 'tap';
import { ProbeFailedError, ProbeTimeoutError } from '../../../shared/errors/index.js';
import { createProbeRunner } from '../../../agent/collectors/index.js';

const node = process.execPath;

/** True while any process of the group exists. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Wait (bounded) until the process group is gone. */
async function groupGone(pgid: number, limitMs = 5000): Promise<boolean> {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    if (!groupAlive(pgid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !groupAlive(pgid);
}

t.test('returns stdout, stderr, exit code and duration', async (t) => {
  const r = createProbeRunner();
  const outerStart = performance.now();
  // The probe writes, then waits 300 ms before exiting: its duration covers that wait.
  const res = await r.run(node, ['-e', 'process.stdout.write("out"); process.stderr.write("err"); setTimeout(() => undefined, 300)'], { timeoutMs: 10_000 });
  const outerMs = performance.now() - outerStart;
  t.equal(res.stdout, 'out');
  t.equal(res.stderr, 'err');
  t.equal(res.exitCode, 0);
  t.ok(res.durationMs >= 300, `the duration covers the probe's run until it exited (${res.durationMs} ms >= 300)`);
  t.ok(res.durationMs <= outerMs, `and no more than the caller waited (${res.durationMs} <= ${outerMs} ms)`);
  t.same(r.busyKinds(), []);
});

t.test('arguments are passed as argv, never through a shell', async (t) => {
  const r = createProbeRunner();
  const res = await r.run(node, ['-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', '$(echo hi); ls *'], {
    timeoutMs: 10_000,
  });
  t.same(JSON.parse(res.stdout), ['$(echo hi); ls *']);
});

t.test('non-zero exit is ProbeFailedError with the exit code and first line', async (t) => {
  const r = createProbeRunner();
  const err = await r.run(node, ['-e', 'console.error("boom\\nmore"); process.exit(15)'], { timeoutMs: 10_000 }).catch((e) => e);
  t.ok(err instanceof ProbeFailedError);
  t.equal((err as ProbeFailedError).exitCode, 15);
  t.match((err as Error).message, /exited with code 15: boom/);
  const ok = await r.run(node, ['-e', 'process.exit(3)'], { timeoutMs: 10_000, allowNonZeroExit: true });
  t.equal(ok.exitCode, 3);
});

t.test('a missing binary is ProbeFailedError', async (t) => {
  const r = createProbeRunner();
  const err = await r.run('/nonexistent/nvidia-smi', ['-q'], { timeoutMs: 10_000 }).catch((e) => e);
  t.ok(err instanceof ProbeFailedError);
  t.match((err as Error).message, /ENOENT/);
});

t.test('timeout kills the whole process group', async (t) => {
  const r = createProbeRunner();
  let pgid = 0;
  // The child starts a grandchild that also sleeps; both must die.
  const script = `
    const { spawn } = require('node:child_process');
    spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
    setInterval(() => {}, 1e9);`;
  const err = await r
    .run(node, ['-e', script], {
      timeoutMs: 500,
      onSpawn: (pid) => {
        pgid = pid;
      },
    })
    .catch((e) => e);
  t.ok(err instanceof ProbeTimeoutError, 'ProbeTimeoutError');
  t.equal((err as ProbeTimeoutError).timeoutMs, 500);
  t.ok(pgid > 0);
  t.ok(await groupGone(pgid), 'no process of the group is left');
});

t.test('output past the cap kills the probe', async (t) => {
  const r = createProbeRunner();
  const err = await r
    .run(node, ['-e', 'const b = "x".repeat(65536); for (;;) process.stdout.write(b)'], { timeoutMs: 10_000, maxOutputBytes: 100_000 })
    .catch((e) => e);
  t.ok(err instanceof ProbeFailedError);
  t.match((err as Error).message, /exceeded 100000 bytes/);
});

t.test('same kind, same argv: the second call joins the one in flight', async (t) => {
  const r = createProbeRunner();
  let spawns = 0;
  const opts = { timeoutMs: 10_000, onSpawn: () => void spawns++ };
  const args = ['-e', 'setTimeout(() => process.stdout.write(String(process.pid)), 200)'];
  const [a, b] = await Promise.all([r.run(node, args, opts), r.run(node, args, opts)]);
  t.equal(spawns, 1, 'one process');
  t.equal(a.stdout, b.stdout, 'same result');
});

t.test('same kind, different argv: the second call waits for the first', async (t) => {
  const r = createProbeRunner();
  const events: string[] = [];
  const run = (name: string) =>
    r
      .run(node, ['-e', `setTimeout(() => process.stdout.write(${JSON.stringify(name)}), 100)`], {
        timeoutMs: 10_000,
        kind: 'nvidia-smi',
        onSpawn: () => events.push(`start ${name}`),
      })
      .then((res) => events.push(`end ${res.stdout}`));
  await Promise.all([run('a'), run('b')]);
  t.same(events, ['start a', 'end a', 'start b', 'end b']);
});

t.test('different kinds run side by side', async (t) => {
  const r = createProbeRunner();
  const started: string[] = [];
  const p1 = r.run(node, ['-e', 'setTimeout(() => {}, 300)'], { timeoutMs: 10_000, kind: 'k1', onSpawn: () => started.push('k1') });
  const p2 = r.run(node, ['-e', 'setTimeout(() => {}, 300)'], { timeoutMs: 10_000, kind: 'k2', onSpawn: () => started.push('k2') });
  t.same(started.sort(), ['k1', 'k2'], 'both started before either finished');
  t.same(r.busyKinds().sort(), ['k1', 'k2']);
  await Promise.all([p1, p2]);
});
