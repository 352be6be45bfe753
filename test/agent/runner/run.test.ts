/**
 * The runner starts real ranks under the real supervisor: env, workdir and log; exit codes and
 * signals through onUpdate and list(); refusals that name their field; idempotent start per key.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import type { TaskStatus } from '../../../agent/runner/index.js';
import { finished, keyOf, readWholeLog, setup, spec, waitFor, waitForStatus, needs } from './helpers.js';

t.test('a rank runs with its env and workdir; stdout and stderr go to its log; the exit code is reported', needs(), async (t) => {
  const { runner, workdir } = setup(t);
  const updates: TaskStatus[] = [];
  runner.onUpdate((s) => updates.push(s));
  const s = spec({
    command: ['bash', '-c', 'echo "out $GANTRY_TEST_VAR $RANK"; pwd; echo "to stderr" >&2; exit 3'],
    env: { GANTRY_TEST_VAR: 'hello world', RANK: '0' },
    workdir,
  });
  const first = await runner.start(s);
  t.ok(['starting', 'running', 'exited'].includes(first.state), `start returns a live or finished state (${first.state})`);
  const end = await waitForStatus(runner, s, finished);
  t.equal(end.state, 'exited');
  t.equal(end.exitCode, 3);
  t.equal(end.signal, null);
  t.ok(end.pid !== null && end.pid > 1, 'the rank pid is kept');
  t.ok(end.startedMs > 0 && end.finishedMs >= end.startedMs, 'start and finish times are recorded');
  t.match(end.message, /code 3/);
  const log = await readWholeLog(runner, s);
  t.match(log, /^out hello world 0$/m, 'env reaches the rank');
  t.match(log, new RegExp(`^${workdir}$`, 'm'), 'the rank runs in its workdir');
  t.match(log, /^to stderr$/m, 'stderr goes to the same log');
  t.same(
    updates.filter((u) => u.jobId === s.jobId).map((u) => u.state),
    ['running', 'exited'],
    'onUpdate sees running, then exited',
  );
  t.equal(updates.at(-1)?.exitCode, 3);
  const listed = runner.list().find((x) => x.jobId === s.jobId);
  t.equal(listed?.exitCode, 3, 'list() has the exit code');
});

t.test('exit codes and signals', needs(), async (t) => {
  const { runner } = setup(t);
  const zero = spec({ command: ['true'] });
  const killed = spec({ command: ['bash', '-c', 'kill -9 $$'] });
  const termed = spec({ command: ['bash', '-c', 'kill -TERM $$'] });
  const code = spec({ command: ['bash', '-c', 'exit 42'] });
  await Promise.all([zero, killed, termed, code].map((s) => runner.start(s)));
  const z = await waitForStatus(runner, zero, finished);
  t.match(z, { state: 'exited', exitCode: 0, signal: null });
  const k = await waitForStatus(runner, killed, finished);
  t.match(k, { state: 'exited', exitCode: null, signal: 'SIGKILL' }, 'kill -9 $$ reports SIGKILL');
  t.match(k.message, /SIGKILL/);
  const te = await waitForStatus(runner, termed, finished);
  t.match(te, { state: 'exited', exitCode: null, signal: 'SIGTERM' });
  const c = await waitForStatus(runner, code, finished);
  t.match(c, { state: 'exited', exitCode: 42, signal: null });
});

t.test('a command that cannot be executed ends as failed-to-start with a message', needs(), async (t) => {
  const { runner } = setup(t);
  const updates: TaskStatus[] = [];
  runner.onUpdate((s) => updates.push(s));
  const s = spec({ command: ['/nonexistent/gantry-no-such-binary', '--flag'] });
  await runner.start(s);
  const end = await waitForStatus(runner, s, finished);
  t.equal(end.state, 'failed-to-start');
  t.match(end.message, /gantry-no-such-binary/);
  t.match(end.message, /ENOENT/);
  t.equal(end.exitCode, null);
  t.same(updates.map((u) => u.state), ['failed-to-start'], 'one update: failed-to-start');

  const onPath = spec({ command: ['gantry-no-such-binary-on-path'], env: { PATH: '/usr/bin:/bin' } });
  await runner.start(onPath);
  const end2 = await waitForStatus(runner, onPath, finished);
  t.equal(end2.state, 'failed-to-start', 'a name not found on PATH fails to start too');
  t.match(end2.message, /ENOENT/);
});

t.test('refusals throw InvalidArgumentError naming the field; nothing is started', needs(), async (t) => {
  const { runner, workdir } = setup(t);
  const cases: Array<[string, Parameters<typeof spec>[0]]> = [
    ['jobId', { jobId: '../escape', command: ['true'] }],
    ['jobId', { jobId: '..', command: ['true'] }],
    ['jobId', { jobId: 'a/b', command: ['true'] }],
    ['jobId', { jobId: '', command: ['true'] }],
    ['rank', { rank: -1, command: ['true'] }],
    ['epoch', { epoch: 1.5, command: ['true'] }],
    ['command', { command: [] }],
    ['command[0]', { command: [''] }],
    ['workdir', { command: ['true'], workdir: path.join(workdir, 'missing') }],
    ['workdir', { command: ['true'], workdir: 'relative/dir' }],
    ['graceSeconds', { command: ['true'], graceSeconds: -1 }],
    ['env.A=B', { command: ['true'], env: { 'A=B': 'x' } }],
  ];
  for (const [field, s] of cases) {
    await t.rejects(runner.start(spec(s)), InvalidArgumentError, `refused: ${field} ${JSON.stringify(s)}`);
    const err = await runner.start(spec(s)).catch((e: unknown) => e);
    t.equal((err as InvalidArgumentError).field, field, `the error names ${field}`);
  }
  t.same(runner.list(), [], 'nothing was started');
  await t.rejects(runner.readLog({ jobId: '../x', rank: 0 }), InvalidArgumentError, 'readLog checks the jobId too');
});

t.test('start is idempotent per key; a new epoch of the same rank is a different task', needs(), async (t) => {
  const { runner, workdir } = setup(t);
  const s = spec({ command: ['bash', '-c', 'echo run >> runs; exec sleep 300'], workdir });
  const [a, b] = await Promise.all([runner.start(s), runner.start(s)]);
  const running = await waitForStatus(runner, s, (x) => x.state === 'running');
  const c = await runner.start(s);
  t.equal(c.pid, running.pid, 'a second start of a running key returns its status');
  t.ok([a.pid, b.pid].every((p) => p === null || p === running.pid), 'concurrent starts got the same task');
  t.equal(runner.list().length, 1, 'one task');

  const next = { ...s, epoch: 2 };
  await runner.start(next);
  const running2 = await waitForStatus(runner, next, (x) => x.state === 'running');
  t.not(running2.pid, running.pid, 'the new epoch runs its own process');
  t.equal(runner.list().length, 2, 'two tasks');

  await runner.stop(keyOf(s), 5, 'test');
  await runner.stop(keyOf(next), 5, 'test');
  t.equal(readFileSync(path.join(workdir, 'runs'), 'utf8'), 'run\nrun\n', 'one run per epoch, none doubled');
  const again = await runner.start(s);
  t.equal(again.state, 'exited', 'starting a finished key again returns its exit, no new run');
  t.equal(readFileSync(path.join(workdir, 'runs'), 'utf8'), 'run\nrun\n');
});

t.test('a stdout line with GANTRY_CHECKPOINT is a checkpoint: refreshCheckpoints reports it once', needs(), async (t) => {
  const { runner, workdir } = setup(t);
  const s = spec({ command: ['bash', '-c', 'echo "saved step 100 GANTRY_CHECKPOINT"; sleep 30'], workdir });
  await runner.start(s);
  await waitForStatus(runner, s, (x) => x.state === 'running');
  t.equal(runner.get(keyOf(s))?.checkpointMs, 0, 'no checkpoint before the runner looks');
  const updates: TaskStatus[] = [];
  runner.onUpdate((u) => updates.push(u));
  let changed: TaskStatus[] = [];
  for (let i = 0; i < 100 && changed.length === 0; i++) {
    changed = await runner.refreshCheckpoints();
    if (changed.length === 0) await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(changed.length, 1, 'the checkpoint is seen');
  t.ok(changed[0]!.checkpointMs > 0, 'with its time');
  t.equal(updates.at(-1)?.checkpointMs, changed[0]!.checkpointMs, 'and notified like a state change');
  t.same(await runner.refreshCheckpoints(), [], 'an old checkpoint is not reported again');
  await runner.stop(keyOf(s), 1, 'test over');
});

const kinds = [
  ['native', { supervisor: 'native', warmSupervisors: 0 }],
  ['cold Node', { supervisor: 'node', warmSupervisors: 0 }],
  ['warm Node', { supervisor: 'node', warmSupervisors: 1 }],
] as const;
for (const [label, kind] of kinds) {
  const warmSupervisors = kind.warmSupervisors;
  t.test(`${label} supervisor: a rank's exit is seen when its supervisor exits, not on the next poll`, async (t) => {
    // Polls an hour apart: only the supervisor's exit event (or the launcher's report) can report the exit within the wait.
    const { runner, workdir } = setup(t, { ...kind, warmRefillDelayMs: 60_000, pollMs: 3_600_000 });
    await runner.adopt();
    if (warmSupervisors) await waitFor('a ready warm supervisor', () => runner.warmPool().ready >= 1 || undefined, 30_000);
    const s = spec({ command: ['bash', '-c', `while [ ! -e ${workdir}/go ]; do sleep 0.05; done; exit 5`], workdir });
    const st = await runner.start(s);
    t.equal(st.state, 'running');
    // Running, and not polled: let it run past a few of the old 500 ms polls, then end it.
    await new Promise((r) => setTimeout(r, 1200));
    t.equal(runner.get(s)?.state, 'running', 'still running');
    writeFileSync(path.join(workdir, 'go'), '');
    const done = await waitForStatus(runner, s, finished, 'the exit, long before the next poll');
    t.match(done, { state: 'exited', exitCode: 5 });
  });
}

t.test('a task is reported running once and exited once, though polls and exit reports look at it at once', needs(), async (t) => {
  // Polls as often as the timer allows, beside the supervisor's exit event (or the launcher's
  // report): overlapping looks at one task, each awaiting its reads, must not report it twice.
  const { runner, workdir } = setup(t, { pollMs: 1 });
  const updates = new Map<string, string[]>();
  runner.onUpdate((s) => updates.set(`${s.rank}`, [...(updates.get(`${s.rank}`) ?? []), s.state]));
  const jobId = `race-${process.pid}`;
  const specs = Array.from({ length: 24 }, (_, rank) => spec({ jobId, rank, command: ['true'], workdir }));
  await Promise.all(specs.map((s) => runner.start(s)));
  for (const s of specs) await waitForStatus(runner, s, finished);
  await new Promise((r) => setTimeout(r, 200)); // any late duplicate would land by now
  for (const s of specs) t.same(updates.get(`${s.rank}`), ['running', 'exited'], `rank ${s.rank}: running, then exited, once each`);
});
