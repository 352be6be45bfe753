/** The pure table of job runs on a node: one prolog per run, waits, refusals, the end of a run, idle memory. */
import t from 'tap';
import { createJobRunTable, learnIdleMemory } from '../../../agent/hooks/index.js';

const k = (jobId: string, rank: number, epoch = 1) => ({ jobId, rank, epoch });

t.test('the first rank of a run runs the prolog; the others wait, then start', async (t) => {
  const table = createJobRunTable({ prolog: true });
  const first = table.arrive(k('a', 0), [0, 1], 'alice');
  t.equal(first.action, 'run-prolog');
  t.equal(table.arrive(k('a', 1), [2, 3], 'alice').action, 'wait', 'a second rank while the prolog runs waits');
  t.same(table.get('a', 1)!.gpus, [0, 1, 2, 3], "the run's GPUs are its ranks' on this node");
  table.prologDone('a', 1, '');
  t.equal(table.get('a', 1)!.prolog, 'passed');
  t.equal(table.arrive(k('a', 2), [4], 'alice').action, 'start', 'a rank after the prolog passed starts at once');
  t.equal(table.arrive(k('a', 0, 2), [0], 'alice').action, 'run-prolog', 'another epoch is another run: its own prolog');
  t.same([...table.busyGpus()].sort(), [0, 1, 2, 3, 4]);
});

t.test('a failed prolog refuses every rank of the run, and the run is over without an epilog', async (t) => {
  const table = createJobRunTable({ prolog: true });
  table.arrive(k('b', 0), [0], '');
  t.equal(table.arrive(k('b', 1), [1], '').action, 'wait');
  table.prologDone('b', 1, 'prolog /x exited with code 3');
  t.same(table.arrive(k('b', 2), [2], ''), { action: 'refuse', reason: 'prolog /x exited with code 3' });
  t.equal(table.rankEnded(k('b', 0)), undefined, 'refused ranks ending ask for no epilog');
  t.equal(table.rankEnded(k('b', 1)), undefined);
  t.same([...table.busyGpus()], [], "a refused run's GPUs are not busy");
});

t.test('the last active rank ending ends the run, once', async (t) => {
  const table = createJobRunTable({ prolog: false });
  t.equal(table.arrive(k('c', 0), [0], 'u').action, 'start', 'without a prolog a rank starts at once');
  t.equal(table.arrive(k('c', 1), [1], 'u').action, 'start');
  t.equal(table.rankEnded(k('c', 0)), undefined, 'one rank still runs');
  t.equal(table.rankEnded(k('c', 0)), undefined, 'an end told twice counts once');
  const run = table.rankEnded(k('c', 1));
  t.ok(run, 'the last rank ending ends the run');
  t.same(run!.gpus, [0, 1]);
  t.equal(table.rankEnded(k('c', 1)), undefined, 'and only once');
  t.equal(table.arrive(k('c', 1), [1], 'u').action, 'pass', 'a repeated start of an ended rank passes through, no second prolog');
  t.same([...table.busyGpus()], [], 'an ended run holds no GPUs');
  t.equal(table.arrive(k('c', 5), [2], 'u').action, 'start', 'a new rank of an ended run starts a new run on this node');
});

t.test('adopted ranks: their run ends with them (their prolog ran before the restart)', async (t) => {
  const table = createJobRunTable({ prolog: true });
  table.adopt(k('d', 0), [], '');
  table.adopt(k('d', 1), [], '');
  t.equal(table.arrive(k('d', 1), [], '').action, 'start', 'a start of an adopted rank asks for no prolog');
  t.equal(table.rankEnded(k('d', 0)), undefined);
  t.ok(table.rankEnded(k('d', 1)), 'the last adopted rank ending ends the run');
});

t.test('finished runs are kept only up to the bound', async (t) => {
  const table = createJobRunTable({ prolog: false, keepFinished: 3 });
  for (let i = 0; i < 10; i++) {
    table.arrive(k(`j${i}`, 0), [0], '');
    table.rankEnded(k(`j${i}`, 0));
  }
  t.equal(table.size(), 3);
  t.ok(table.get('j9', 1) && !table.get('j0', 1), 'the oldest went first');
});

t.test('idle memory: the lowest reading of GPUs no run uses', async (t) => {
  let idle = learnIdleMemory({}, [{ index: 0, memoryUsedBytes: 500 }, { index: 1, memoryUsedBytes: 700 }, { index: 2, memoryUsedBytes: null }], new Set());
  t.same(idle, { 0: 500, 1: 700 }, 'an unread GPU teaches nothing');
  idle = learnIdleMemory(idle, [{ index: 0, memoryUsedBytes: 9000 }, { index: 1, memoryUsedBytes: 600 }], new Set([0]));
  t.same(idle, { 0: 500, 1: 600 }, 'a busy GPU is skipped; a lower idle reading wins');
  idle = learnIdleMemory(idle, [{ index: 1, memoryUsedBytes: 650 }], new Set());
  t.same(idle, { 0: 500, 1: 600 }, 'a higher idle reading does not raise it');
});
