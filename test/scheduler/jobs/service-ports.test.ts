/** SLO service port blocks: overlap, the node mask and its reason, what-ifs without some jobs. Pure. */
import t from 'tap';
import { ServicePorts, blockText, blocksOverlap, serviceBlock } from '../../../scheduler/jobs/service-ports.js';
import { rackCluster } from '../../builders/cluster.js';
import { jobRecord } from '../../builders/job.js';

const svc = (id: string, port: number, max: number, on: string[] = []) =>
  jobRecord(
    id,
    { kind: 'Inference', ranks: 1, gpusPerRank: 1, replicas: { min: 1, max }, slo: { p99Ms: 100, metric: 'latency_seconds', port } },
    on.length ? { on: on.map((node) => ({ node, gpus: [0] })) } : {},
  );

t.test('blocks: slo.port … slo.port + replicas.max - 1, inclusive overlap', async (t) => {
  t.same(serviceBlock(svc('a-1', 9400, 4).spec), { lo: 9400, hi: 9403 });
  t.equal(serviceBlock(jobRecord('t-1').spec), null, 'a training job has none');
  t.equal(serviceBlock(jobRecord('i-1', { kind: 'Inference' }).spec), null, 'an inference job without slo has none');
  const cases: Array<[number, number, number, number, boolean]> = [
    [9400, 9403, 9403, 9406, true],
    [9400, 9403, 9404, 9406, false],
    [9400, 9400, 9400, 9400, true],
    [9405, 9409, 9400, 9404, false],
    [9400, 9409, 9402, 9403, true],
  ];
  for (const [a, b, c, d, want] of cases) t.equal(blocksOverlap({ lo: a, hi: b }, { lo: c, hi: d }), want, `${a}–${b} vs ${c}–${d}`);
  t.equal(blockText({ lo: 9400, hi: 9400 }), '9400');
  t.equal(blockText({ lo: 9400, hi: 9403 }), '9400–9403');
});

t.test('the mask: nodes holding an overlapping block of another job, with a reason naming them', async (t) => {
  const c = rackCluster(1, 1, 4); // n-0-0-0 … n-0-0-3
  const ports = ServicePorts.of(c.tree, [svc('a-1', 9400, 4, ['n-0-0-0']), svc('b-2', 9410, 4, ['n-0-0-1']), svc('c-3', 9402, 2, ['n-0-0-2', 'n-0-0-0']), svc('d-4', 9401, 1, ['n-0-0-3'])]);
  t.equal(ports.maskFor(svc('x-9', 9500, 4)), null, 'a disjoint block: no mask');
  t.equal(ports.maskFor(jobRecord('t-9')), null, 'no block: no mask');
  const m = ports.maskFor(svc('x-9', 9403, 8)); // 9403–9410: a-1, b-2, c-3 overlap; d-4 (9401) does not
  t.same([...m!.nodeMask], [0, 0, 0, 1]);
  t.equal(m!.maskReason, "service ports 9403–9410 overlap job a-1's (9400–9403), job b-2's (9410–9413) and 1 more", 'two named, sorted by job id, then a count');
  const two = ports.maskFor(svc('x-9', 9401, 1))!;
  t.equal(two.maskReason, "service ports 9401 overlap job a-1's (9400–9403) and job d-4's (9401)");
  t.same([...two.nodeMask], [0, 1, 1, 0]);
  t.not(two.key, m!.key, 'different masks, different keys');
  t.equal(ports.maskFor(svc('x-8', 9401, 1))!.key, two.key, 'the same mask and reason, the same key');
  // Its own replicas never conflict.
  t.same([...ports.maskFor(svc('a-1', 9400, 4))!.nodeMask], [0, 1, 0, 0], "a-1 is kept off c-3's and d-4's nodes, not b-2's (its own node holds c-3 too)");
  t.equal(ports.maskFor(svc('b-2', 9410, 4)), null, "b-2's only neighbour is itself");
  // What-if: a-1 and c-3 gone.
  t.same([...ports.without(new Set(['a-1', 'c-3'])).maskFor(svc('x-9', 9403, 8))!.nodeMask], [1, 0, 1, 1], 'only b-2 is left in the way');
});

t.test('stopping ranks hold their block, even against their own job', async (t) => {
  const c = rackCluster(1, 1, 2);
  const ports = new ServicePorts(c.tree);
  ports.hold('a-1', { lo: 9400, hi: 9403 }, [c.tree.nodeId('n-0-0-1')], true);
  const m = ports.maskFor(svc('a-1', 9400, 4))!;
  t.same([...m.nodeMask], [1, 0]);
  t.equal(m.maskReason, "service ports 9400–9403 overlap stopping ranks of job a-1's (9400–9403)");
  t.same([...ports.without(new Set(['a-1'])).maskFor(svc('a-1', 9400, 4))!.nodeMask], [1, 0], 'a what-if does not free them');
});
