/** Commands to agents: the plain views the scheduler builds, and their wire form. */
import t from 'tap';
import { agentCommandToPb, startTaskView, type AgentCommandView } from '../../../shared/wire/index.js';
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
