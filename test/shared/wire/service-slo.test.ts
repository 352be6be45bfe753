/** StartTask.slo: set on the first rank of each replica of an Inference job with an SLO, validated on the agent. */
import t from 'tap';
import { serviceSloFromPb, serviceSloToPb } from '../../../shared/wire/index.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import type { JobRecord } from '../../../shared/domain/index.js';

const job = {
  id: 'chat-1',
  spec: { kind: 'Inference', slo: { p99Ms: 300, metric: 'vllm:e2e_request_latency_seconds', port: 8000 } },
  ranks: [
    { rank: 0, unit: 0 },
    { rank: 1, unit: 0 },
    { rank: 2, unit: 1 },
    { rank: 3, unit: 1 },
  ],
} as unknown as JobRecord;

t.test('only the first rank of each replica scrapes', async (t) => {
  t.same(serviceSloToPb(job, job.ranks[0]!), { service: 'chat-1', metric: 'vllm:e2e_request_latency_seconds', port: 8000, windowMs: 0, replica: 0 });
  t.equal(serviceSloToPb(job, job.ranks[1]!), undefined);
  t.same(serviceSloToPb(job, job.ranks[2]!), { service: 'chat-1', metric: 'vllm:e2e_request_latency_seconds', port: 8001, windowMs: 0, replica: 1 }, "replica 1 is scraped on the spec's port + 1");
  t.equal(serviceSloToPb(job, job.ranks[3]!), undefined);
  t.equal(serviceSloToPb({ ...job, spec: { ...job.spec, slo: undefined } }, job.ranks[0]!), undefined, 'no SLO');
  t.equal(serviceSloToPb({ ...job, spec: { ...job.spec, kind: 'Training' } }, job.ranks[0]!), undefined, 'not Inference');
});

t.test('the agent validates what it is sent, naming the field', async (t) => {
  t.equal(serviceSloFromPb(null, 'startTask.slo'), undefined);
  const ok = { service: 'chat-1', metric: 'vllm:x', port: 8000, windowMs: 500, replica: 2 };
  t.same(serviceSloFromPb(ok, 'startTask.slo'), ok);
  for (const [bad, field] of [
    [{ ...ok, service: '' }, 'startTask.slo.service'],
    [{ ...ok, metric: 'bad metric' }, 'startTask.slo.metric'],
    [{ ...ok, port: 0 }, 'startTask.slo.port'],
  ] as const) {
    try {
      serviceSloFromPb(bad, 'startTask.slo');
      t.fail(`accepted ${JSON.stringify(bad)}`);
    } catch (e) {
      t.ok(e instanceof InvalidArgumentError);
      t.equal((e as InvalidArgumentError).field, field);
    }
  }
});
