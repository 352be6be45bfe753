/**
 * Stop and fence: SIGTERM reaches the rank's whole process group; a rank that ignores SIGTERM is
 * SIGKILLed after the grace; fence stops exactly the tasks the scheduler no longer runs.
 */
import t from 'tap';
import { processAlive } from '../../../agent/runner/procfs.js';
import { keyOf, readWholeLog, setup, spec, waitFor, waitForLog, waitForStatus, needs } from './helpers.js';

t.test('stop: SIGTERM reaches the whole process group, children included', needs(), async (t) => {
  const { runner } = setup(t);
  const s = spec({ command: ['bash', '-c', 'sleep 300 & echo "child=$!"; wait'] });
  await runner.start(s);
  const m = await waitForLog(runner, s, /child=(\d+)/);
  const child = Number(m[1]);
  const main = (await waitForStatus(runner, s, (x) => x.state === 'running')).pid!;
  t.ok(processAlive(child) && processAlive(main), 'the rank and its child run');
  await runner.stop(keyOf(s), 10, 'test stop');
  const end = runner.get(s)!;
  t.equal(end.state, 'exited', 'stop resolves once the task has exited');
  t.equal(end.signal, 'SIGTERM', 'the rank died of the SIGTERM');
  t.match(end.message, /test stop/, 'the reason is in the message');
  t.notOk(processAlive(main), 'the rank is gone');
  t.notOk(processAlive(child), 'its child in the same group is gone too');
});

t.test('stop: a rank that ignores SIGTERM is SIGKILLed after the grace', needs(), async (t) => {
  const { runner } = setup(t);
  const s = spec({
    command: ['bash', '-c', 'trap "echo got-term" TERM; sleep 300 & echo "child=$!"; echo ready; while true; do sleep 0.05; done'],
  });
  await runner.start(s);
  const m = await waitForLog(runner, s, /child=(\d+)[\s\S]*ready/);
  const child = Number(m[1]);
  await runner.stop(keyOf(s), 1, 'grace test');
  const end = runner.get(s)!;
  t.equal(end.state, 'exited');
  t.equal(end.signal, 'SIGKILL', 'killed after the grace');
  t.match(await readWholeLog(runner, s), /got-term/, 'it did get the SIGTERM first');
  t.notOk(processAlive(child), 'the whole group is gone');
  t.notOk(processAlive(end.pid!), 'the rank is gone');
});

t.test('stop of an unknown or finished task resolves at once', needs(), async (t) => {
  const { runner } = setup(t);
  await runner.stop({ jobId: 'never-started', rank: 0, epoch: 1 }, 1, 'nothing');
  const s = spec({ command: ['true'] });
  await runner.start(s);
  await waitForStatus(runner, s, (x) => x.state === 'exited');
  await runner.stop(keyOf(s), 1, 'already done');
  t.equal(runner.get(s)?.exitCode, 0, 'a finished task keeps its exit');
});

t.test('fence stops every task not kept, and only those', needs(), async (t) => {
  const { runner } = setup(t);
  const keepA0 = spec({ jobId: 'fence-a', rank: 0, epoch: 3, command: ['sleep', '300'] });
  const keepA1 = spec({ jobId: 'fence-a', rank: 1, epoch: 3, command: ['sleep', '300'] });
  const oldEpoch = spec({ jobId: 'fence-a', rank: 0, epoch: 2, command: ['sleep', '300'] });
  const other = spec({ jobId: 'fence-b', rank: 0, epoch: 1, command: ['sleep', '300'] });
  const all = [keepA0, keepA1, oldEpoch, other];
  await Promise.all(all.map((s) => runner.start(s)));
  for (const s of all) await waitForStatus(runner, s, (x) => x.state === 'running');
  const runs = new Set(['fence-a/3']);
  const stopped = await runner.fence((k) => runs.has(`${k.jobId}/${k.epoch}`), 5);
  t.same(
    stopped.map((k) => `${k.jobId}/${k.rank}/${k.epoch}`).sort(),
    ['fence-a/0/2', 'fence-b/0/1'],
    'the stale epoch and the unknown job are fenced',
  );
  for (const s of [oldEpoch, other]) {
    const st = runner.get(s)!;
    t.equal(st.state, 'exited');
    t.equal(st.signal, 'SIGTERM');
    t.match(st.message, /fenced/);
  }
  for (const s of [keepA0, keepA1]) {
    const st = runner.get(s)!;
    t.equal(st.state, 'running', `${s.jobId}/${s.rank}/${s.epoch} keeps running`);
    t.ok(processAlive(st.pid!));
  }
  t.same(await runner.fence(() => true, 1), [], 'nothing more to fence');
  await waitFor('kept tasks still listed', () => runner.list().filter((x) => x.state === 'running').length === 2);
});
