/** Commands to agents: the plain views the scheduler builds, and their wire form; the agents' task statuses. */
import t from 'tap';
import type { PbTaskStatusOut } from '../../../shared/proto/index.js';
import { agentCommandToPb, startTaskView, taskStatusFromPb, taskStatusToPb, type AgentCommandView, type TaskStatusView } from '../../../shared/wire/index.js';
import { jobRecord } from '../../builders/job.js';

t.test('startTaskView: the rank, its epoch, the spec, the env given; slo on the first rank of each replica', async (t) => {
  const job = jobRecord('chat-1', { kind: 'Inference', ranks: 2, gpusPerRank: 1, replicas: { min: 1, max: 2 }, slo: { p99Ms: 100, metric: 'lat_seconds', port: 8000 }, workdir: '/w' }, { on: [{ node: 'a', gpus: [0] }, { node: 'a', gpus: [1] }], epoch: 4 });
  job.ranks[1]!.epoch = 6;
  const v0 = startTaskView(job, job.ranks[0]!, { RANK: '0' });
  t.same(v0, { jobId: 'chat-1', rank: 0, epoch: 4, command: ['python', 'train.py'], env: { RANK: '0' }, workdir: '/w', runAs: '', gpus: [0], graceSeconds: 30, slo: { service: 'chat-1', metric: 'lat_seconds', port: 8000, windowMs: 0, replica: 0 } });
  const v1 = startTaskView(job, job.ranks[1]!, {});
  t.equal(v1.epoch, 6, "a rank's own epoch");
  t.equal(v1.slo, undefined, 'not the first rank of its replica');
  const as = jobRecord('g-1', { runAs: 'alice' }, { on: [{ node: 'a', gpus: [0] }] });
  t.equal(startTaskView(as, as.ranks[0]!, {}).runAs, 'alice', "the job's account (jobRunAs)");
});

t.test('agentCommandToPb: each kind to its SchedulerMessage field', async (t) => {
  const stop = { jobId: 'j-1', rank: 2, epoch: 3, graceSeconds: 10, reason: 'cancelled' };
  const cases: Array<[AgentCommandView, Record<string, unknown>]> = [
    [{ stopTask: stop }, { stopTask: stop }],
    [{ latencyPeers: { peers: [{ node: 'b', address: '10.0.0.2', port: 7000 }] } }, { latencyPeers: { peers: [{ node: 'b', address: '10.0.0.2', port: 7000 }] } }],
  ];
  for (const [view, pb] of cases) t.same(agentCommandToPb(view), pb);
  const start = startTaskView(jobRecord('g-1', {}, { on: [{ node: 'a', gpus: [0] }] }), jobRecord('g-1', {}, { on: [{ node: 'a', gpus: [0] }] }).ranks[0]!, {});
  t.same(agentCommandToPb({ startTask: start }), { startTask: start });
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
