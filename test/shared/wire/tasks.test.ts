/** Commands to agents: the plain views the scheduler builds, and their wire form; the agents' task statuses. */
import t from 'tap';
import type { PbTaskStatusOut } from '../../../shared/proto/index.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { agentCommandToPb, startTaskLimitsFromPb, startTaskView, taskStatusFromPb, taskStatusToPb, type AgentCommandView, type TaskStatusView } from '../../../shared/wire/index.js';
import { jobRecord } from '../../builders/job.js';

t.test('startTaskView: the rank, its epoch, the spec, the env given; slo on the first rank of each replica', async (t) => {
  const job = jobRecord('chat-1', { kind: 'Inference', ranks: 2, gpusPerRank: 1, replicas: { min: 1, max: 2 }, slo: { p99Ms: 100, metric: 'lat_seconds', port: 8000 }, workdir: '/w' }, { on: [{ node: 'a', gpus: [0] }, { node: 'a', gpus: [1] }], epoch: 4 });
  job.ranks[1]!.epoch = 6;
  const v0 = startTaskView(job, job.ranks[0]!, { RANK: '0' });
  t.same(v0, { jobId: 'chat-1', rank: 0, epoch: 4, command: ['python', 'train.py'], env: { RANK: '0' }, workdir: '/w', runAs: '', gpus: [0], graceSeconds: 30, slo: { service: 'chat-1', metric: 'lat_seconds', port: 8000, windowMs: 0, replica: 0 }, deadlineMs: 0 });
  const v1 = startTaskView(job, job.ranks[1]!, {});
  t.equal(v1.epoch, 6, "a rank's own epoch");
  t.equal(v1.slo, undefined, 'not the first rank of its replica');
  const as = jobRecord('g-1', { runAs: 'alice' }, { on: [{ node: 'a', gpus: [0] }] });
  t.equal(startTaskView(as, as.ranks[0]!, {}).runAs, 'alice', "the job's account (jobRunAs)");
});

t.test('agentCommandToPb: each kind to its SchedulerMessage field', async (t) => {
  const stop = { jobId: 'j-1', rank: 2, epoch: 3, graceSeconds: 10, reason: 'cancelled' };
  const cases: Array<[AgentCommandView, Record<string, unknown>]> = [
    [{ stopTask: stop }, { stopTask: { ...stop, term: 0 } }],
    [{ latencyPeers: { peers: [{ node: 'b', address: '10.0.0.2', port: 7000 }] } }, { latencyPeers: { peers: [{ node: 'b', address: '10.0.0.2', port: 7000 }] } }],
  ];
  for (const [view, pb] of cases) t.same(agentCommandToPb(view), pb);
  const start = startTaskView(jobRecord('g-1', {}, { on: [{ node: 'a', gpus: [0] }] }), jobRecord('g-1', {}, { on: [{ node: 'a', gpus: [0] }] }).ranks[0]!, {});
  const { deadlineMs, ...rest } = start;
  t.same(agentCommandToPb({ startTask: start }), { startTask: { ...rest, deadlineUnixMs: deadlineMs, term: 0 } }, 'term 0 without HA');
  t.equal(agentCommandToPb({ startTask: start }, 12).startTask!.term, 12, "an HA leader's term on StartTask");
  t.equal(agentCommandToPb({ stopTask: stop }, 12).stopTask!.term, 12, 'and on StopTask');
});

t.test("startTaskView: the epoch's deadline and the spec's resources; their wire form", async (t) => {
  const on = [{ node: 'a', gpus: [2, 3] }];
  const job = jobRecord('lim-1', { gpusPerRank: 2, timeLimit: 90, resources: { memoryGiBPerRank: 2, maxProcesses: 512, cpuBinding: 'none' } }, { on, deadlineMs: 1_700_000_090_000 });
  const v = startTaskView(job, job.ranks[0]!, {});
  t.equal(v.deadlineMs, 1_700_000_090_000, "the record's deadline");
  t.same(v.resources, { memoryBytes: 2 * 1024 ** 3, maxProcesses: 512, cpuBinding: 'none' }, 'GiB in bytes, 0 for none');
  const { deadlineMs: _d, ...vRest } = v;
  t.same(agentCommandToPb({ startTask: v }).startTask, { ...vRest, deadlineUnixMs: 1_700_000_090_000, term: 0 }, 'deadline_unix_ms on the wire');
  const partial = jobRecord('lim-2', { resources: { maxProcesses: 64 } }, { on: [{ node: 'a', gpus: [0] }] });
  t.same(startTaskView(partial, partial.ranks[0]!, {}).resources, { memoryBytes: 0, maxProcesses: 64, cpuBinding: 'numa' }, 'memory left to the agent: 0');
  const plain = jobRecord('lim-3', {}, { on: [{ node: 'a', gpus: [0] }] });
  const pv = startTaskView(plain, plain.ranks[0]!, {});
  t.equal(pv.deadlineMs, 0, 'no limit: 0');
  t.equal(pv.resources, undefined, 'no resources: absent (the agent decides)');
  t.notOk('resources' in agentCommandToPb({ startTask: pv }).startTask!, 'and absent on the wire');
});

t.test('startTaskLimitsFromPb: gpus, deadline and resources taken; bad ones name the field', async (t) => {
  const ok = { gpus: [1, 0], deadlineUnixMs: 1_700_000_000_000, resources: { memoryBytes: 1024 ** 3, maxProcesses: 100, cpuBinding: '' } };
  t.same(startTaskLimitsFromPb(ok, 'startTask'), { gpus: [1, 0], deadlineMs: 1_700_000_000_000, resources: { memoryBytes: 1024 ** 3, maxProcesses: 100, cpuBinding: 'numa' } }, "'' binding is numa");
  t.same(startTaskLimitsFromPb({ gpus: [], deadlineUnixMs: 0, resources: null }, 'startTask'), { gpus: [] }, '0 and null: none');
  const bad: Array<[string, Partial<typeof ok> & Record<string, unknown>, string]> = [
    ['negative deadline', { deadlineUnixMs: -5 }, 'startTask.deadlineUnixMs'],
    ['deadline in microseconds', { deadlineUnixMs: 1_700_000_000_000_000 }, 'startTask.deadlineUnixMs'],
    ['negative memory', { resources: { ...ok.resources, memoryBytes: -1 } }, 'startTask.resources.memoryBytes'],
    ['absurd memory', { resources: { ...ok.resources, memoryBytes: 2 ** 60 } }, 'startTask.resources.memoryBytes'],
    ['absurd process count', { resources: { ...ok.resources, maxProcesses: 2 ** 31 } }, 'startTask.resources.maxProcesses'],
    ['unknown binding', { resources: { ...ok.resources, cpuBinding: 'socket' } }, 'startTask.resources.cpuBinding'],
    ['GPU index out of range', { gpus: [5000] }, 'startTask.gpus[0]'],
    ['GPU listed twice', { gpus: [1, 1] }, 'startTask.gpus[1]'],
  ];
  for (const [label, over, field] of bad) {
    const err = (() => {
      try {
        startTaskLimitsFromPb({ ...ok, ...over } as typeof ok, 'startTask');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    t.type(err, InvalidArgumentError, `${label}: refused`);
    t.equal((err as InvalidArgumentError | undefined)?.field, field, `${label}: names ${field}`);
  }
});

t.test('task statuses carry ended_by and usage on exits; not measured stays null, not 0', async (t) => {
  const exited: TaskStatusView = {
    jobId: 'j-1', rank: 0, epoch: 1, state: 'exited', exitCode: 143, signal: null, startedMs: 1, finishedMs: 9, message: 'time limit', checkpointMs: 0,
    endedBy: 'timeout', usage: { cpuUsec: 0, memoryPeakBytes: 123_456_789, oomKills: null },
  };
  const pb = taskStatusToPb(exited);
  t.equal(pb.endedBy, 'timeout');
  t.match(pb.usage, { hasCpuUsec: true, cpuUsec: 0, hasOomKills: false });
  const back = taskStatusFromPb(asOut<PbTaskStatusOut>({ ...pb, usage: { ...pb.usage, cpuUsec: String(pb.usage!.cpuUsec) } }), 's');
  t.same(back, exited, 'round trip: a measured 0 stays 0, an unmeasured value null');
  const plain = { ...exited, endedBy: undefined, usage: undefined };
  delete plain.endedBy;
  delete plain.usage;
  t.same(taskStatusFromPb(asOut<PbTaskStatusOut>({ ...taskStatusToPb(plain), usage: null }), 's'), plain, 'no usage message: none');
  t.same(taskStatusFromPb(asOut<PbTaskStatusOut>({ ...pb, endedBy: 'gremlins' }), 's').endedBy, undefined, "a word this scheduler does not know: its own exit");
  const killed: TaskStatusView = { ...exited, exitCode: null, signal: 'SIGKILL' };
  t.same(taskStatusFromPb(asOut<PbTaskStatusOut>(taskStatusToPb(killed)), 's'), killed, 'killed by a signal: no exit code, not a clean 0');
  const running = taskStatusFromPb(asOut<PbTaskStatusOut>({ ...pb, state: 'TASK_STATE_RUNNING' }), 's');
  t.equal(running.endedBy, undefined, 'only an exit ends');
  t.equal(running.usage, undefined);
});

t.test('startTaskView: ranks run as the account resolved at submit, not the spec\'s', async (t) => {
  const on = [{ node: 'a', gpus: [0] }];
  const resolved = jobRecord('r-1', { runAs: 'alice' }, { on, runAs: 'ml-shared', submittedBy: 'dave' });
  t.equal(startTaskView(resolved, resolved.ranks[0]!, {}).runAs, 'ml-shared', 'the record\'s runAs');
  const agentsOwn = jobRecord('r-2', { runAs: 'alice' }, { on, runAs: '' });
  t.equal(startTaskView(agentsOwn, agentsOwn.ranks[0]!, {}).runAs, '', "'' (the agent's own account) is kept, not replaced by the spec's");
  const older = jobRecord('r-3', { runAs: 'alice' }, { on });
  t.equal(startTaskView(older, older.ranks[0]!, {}).runAs, 'alice', 'a record from before: the spec\'s');
});

// proto-loader with defaults: true fills every field; mimic that by round-tripping through JSON.
const asOut = <T>(x: unknown): T => JSON.parse(JSON.stringify(x)) as T;

t.test("task statuses round-trip; a start refusal's code only on failed-to-start, unknown codes dropped", async (t) => {
  const base: TaskStatusView = { jobId: 'j-1', rank: 2, epoch: 3, state: 'failed-to-start', exitCode: null, signal: null, startedMs: 0, finishedMs: 9, message: 'runAs: no', checkpointMs: 0 };
  const refused: TaskStatusView = { ...base, refusal: 'run-as-refused' };
  t.equal(taskStatusToPb(refused).refusal, 'run-as-refused');
  t.same(taskStatusFromPb(asOut<PbTaskStatusOut>(taskStatusToPb(refused)), 's'), refused);
  t.same(taskStatusFromPb(asOut<PbTaskStatusOut>(taskStatusToPb(base)), 's'), base, 'no code: none');
  t.same(taskStatusFromPb(asOut<PbTaskStatusOut>({ ...taskStatusToPb(base), refusal: 'disk-full' }), 's'), base, "a code this scheduler does not know: an ordinary failure to start");
  const exited: TaskStatusView = { ...base, state: 'exited', exitCode: 1 };
  t.same(taskStatusFromPb(asOut<PbTaskStatusOut>({ ...taskStatusToPb(exited), refusal: 'run-as-refused' }), 's'), exited, 'a task that ran was not refused');
});
