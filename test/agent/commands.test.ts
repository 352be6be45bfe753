/**
 * The agent's side of StartTask and TaskStatus (agent/commands.ts): the rank's GPUs, deadline and
 * limits reach the runner's TaskSpec; bad ones refuse the start naming the field, before anything
 * runs; a finished rank's end cause and usage go back to the scheduler. Runs the real runner
 * (real supervisors) on a temporary state dir; the runner's start is only watched, not replaced.
 */
import t, { type Test } from 'tap';
import { taskView } from '../../agent/commands.js';
import type { TaskSpec, TaskStatus } from '../../agent/runner/index.js';
import type { SchedulerMessage__Output } from '../../shared/proto/index.js';
import type { TaskStatusView } from '../../shared/wire/index.js';
import { agentCommandsOver, finished, needs, setup, waitFor, waitForStatus } from './runner/helpers.js';

type StartTaskPb = NonNullable<SchedulerMessage__Output['startTask']>;

function harness(t: Test) {
  const { runner, workdir } = setup(t, { allowedUsers: ['nobody'] });
  const started: TaskSpec[] = [];
  const updates: TaskStatusView[] = [];
  const commands = agentCommandsOver({ start: (s) => (started.push(s), runner.start(s)), stop: (k, g, r) => runner.stop(k, g, r), readLog: (x, o) => runner.readLog(x, o) }, updates);
  let n = 0;
  const startTask = (over: Partial<StartTaskPb>): StartTaskPb => ({
    jobId: `cmd-${process.pid}-${n++}`,
    rank: 0,
    epoch: 1,
    command: ['true'],
    env: {},
    workdir,
    runAs: 'nobody',
    gpus: [],
    graceSeconds: 5,
    slo: null,
    deadlineUnixMs: 0,
    resources: null,
    term: 0,
    ...over,
  });
  return { runner, started, updates, commands, startTask };
}

t.test("StartTask's GPUs, deadline and resources become the runner's TaskSpec", needs(), async (t) => {
  const { runner, started, commands, startTask } = harness(t);
  const deadline = Date.now() + 3_600_000;
  const st = startTask({ gpus: [3, 1], deadlineUnixMs: deadline, resources: { memoryBytes: 2 * 1024 ** 3, maxProcesses: 256, cpuBinding: 'none' } });
  commands.handle({ startTask: st });
  await waitFor('the start handed on', () => started.length === 1);
  t.match(started[0], { jobId: st.jobId, gpus: [3, 1], deadlineMs: deadline, resources: { memoryBytes: 2 * 1024 ** 3, maxProcesses: 256, cpuBinding: 'none' } });
  t.match(await waitForStatus(runner, started[0]!, finished), { state: 'exited', exitCode: 0 }, 'and it ran');
  const plain = startTask({ resources: { memoryBytes: 0, maxProcesses: 0, cpuBinding: '' } });
  commands.handle({ startTask: plain });
  await waitFor('the second start handed on', () => started.length === 2);
  t.same(started[1]!.gpus, []);
  t.notOk('deadlineMs' in started[1]!, 'deadline 0: none');
  t.same(started[1]!.resources, { memoryBytes: 0, maxProcesses: 0, cpuBinding: 'numa' }, "0: the agent's defaults; '' binding: numa");
  await waitForStatus(runner, started[1]!, finished);
});

t.test('a bad deadline or limit refuses the start naming the field; nothing runs', needs(), async (t) => {
  const { runner, started, updates, commands, startTask } = harness(t);
  const bad: Array<[Partial<StartTaskPb>, RegExp]> = [
    [{ deadlineUnixMs: -1 }, /^startTask\.deadlineUnixMs: must be unix milliseconds/],
    [{ deadlineUnixMs: Date.now() * 1000 }, /^startTask\.deadlineUnixMs: /],
    [{ resources: { memoryBytes: 2 ** 62, maxProcesses: 0, cpuBinding: '' } }, /^startTask\.resources\.memoryBytes: /],
    [{ resources: { memoryBytes: 0, maxProcesses: 0, cpuBinding: 'core' } }, /^startTask\.resources\.cpuBinding: /],
    [{ gpus: [0, 0] }, /^startTask\.gpus\[1\]: GPU 0 is listed twice/],
  ];
  const ids = bad.map(([over]) => {
    const st = startTask(over);
    commands.handle({ startTask: st });
    return st.jobId;
  });
  await waitFor('every start answered', () => updates.length === bad.length);
  bad.forEach(([, want], i) => {
    const u = updates.find((x) => x.jobId === ids[i]);
    t.match(u, { state: 'failed-to-start', message: want, exitCode: null }, String(want));
    t.notOk(u?.refusal, 'no refusal code: bad input, not a refused account');
  });
  t.same(started, [], 'the runner was never asked');
  t.same(runner.list(), [], 'nothing runs');
});

t.test("a finished rank's end cause and usage go to the scheduler; a running one says neither", async (t) => {
  const base: TaskStatus = { jobId: 'j-1', rank: 0, epoch: 2, state: 'exited', exitCode: null, signal: 'SIGTERM', startedMs: 1, finishedMs: 2, message: 'deadline', pid: 4, checkpointMs: 0 };
  const ended = taskView({ ...base, endedBy: 'timeout', usage: { cpuUsec: 0, memoryPeakBytes: null, oomKills: 0 } });
  t.match(ended, { state: 'exited', endedBy: 'timeout', usage: { cpuUsec: 0, memoryPeakBytes: null, oomKills: 0 } });
  t.notOk('endedBy' in taskView(base) || 'usage' in taskView(base), 'an exit without them: absent');
  const running = taskView({ ...base, state: 'running', endedBy: 'oom', usage: { cpuUsec: 1, memoryPeakBytes: 1, oomKills: 1 } });
  t.notOk('endedBy' in running || 'usage' in running, 'only an exit carries them');
});
