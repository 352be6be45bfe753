/** The cycle planner: fair share, quotas, preemption with least lost work, EASY backfill. Pure; table-driven where it fits. */
import t from 'tap';
import { planOn } from '../../builders/plan-cycle.js';
import { planCycle, type PlanInput } from '../../../scheduler/jobs/planner.js';
import { DEFAULT_QUEUE, type QueueConfig } from '../../../scheduler/queue/index.js';
import type { JobRecord } from '../../../shared/domain/index.js';
import { cluster, hgxNode, rackCluster, type TestCluster } from '../../builders/cluster.js';
import { jobRecord } from '../../builders/job.js';

const H = 3_600_000;
const NOW = 100 * H;
const all8 = [0, 1, 2, 3, 4, 5, 6, 7];

function plan(c: TestCluster, pending: JobRecord[], active: JobRecord[], queues: Record<string, Partial<QueueConfig>> = {}, extra: Partial<PlanInput> = {}) {
  return planOn(c, { nowMs: NOW, pending, active, queues, ...extra });
}

const eight = (id: string, spec: Record<string, unknown> = {}, extra: Parameters<typeof jobRecord>[2] = {}) => jobRecord(id, { gpusPerRank: 8, ...spec }, extra);

t.test('fair share: equal-priority queues interleave by weight', async (t) => {
  const c = rackCluster(1, 2, 3); // 6 nodes, 48 GPUs
  const pending = [
    ...Array.from({ length: 6 }, (_, i) => eight(`a-${i + 1}`, { queue: 'a' }, { submittedMs: i })),
    ...Array.from({ length: 6 }, (_, i) => eight(`b-${i + 11}`, { queue: 'b' }, { submittedMs: 100 + i })),
  ];
  const p = plan(c, pending, [], { a: { weight: 1 }, b: { weight: 2 } });
  const started = p.starts.map((s) => s.job.spec.queue);
  t.equal(started.length, 6, 'the cluster fills');
  t.equal(started.filter((q) => q === 'b').length, 4, 'the weight-2 queue gets two thirds');
  t.equal(started.filter((q) => q === 'a').length, 2, 'the weight-1 queue one third, although its jobs are older');
});

t.test('a request that failed is not searched again on the same snapshot; a start changes the snapshot', async (t) => {
  const c = rackCluster(1, 1, 2); // 2 nodes, 16 GPUs
  const pending = [
    ...Array.from({ length: 3 }, (_, i) => eight(`x-${i + 1}`, {}, { submittedMs: i })),
    ...Array.from({ length: 40 }, (_, i) => eight(`big-${i + 10}`, { ranks: 4 }, { submittedMs: 10 + i })),
    jobRecord('one-90', { gpusPerRank: 1 }, { submittedMs: 90 }),
  ];
  const p = plan(c, pending, []);
  t.same(p.starts.map((s) => s.job.id), ['x-1', 'x-2'], 'two whole-node jobs fill the cluster');
  t.match(p.waiting.get('x-3')?.text, /does not fit|GPUs/, 'the third waits');
  const texts = new Set(Array.from({ length: 40 }, (_, i) => p.waiting.get(`big-${i + 10}`)?.text));
  t.equal(texts.size, 1, 'every job of one shape waits for the same reason');
  t.ok([...texts][0], 'a reason');
  t.ok(p.waiting.has('one-90'), 'a new shape is tried too');
  // x-1, x-2 (fit, the snapshot changes each time), x-3 (fails), big-10 (fails; the other 39 reuse it), one-90.
  t.equal(p.searches, 5, 'one search per shape and snapshot');
  t.equal(p.tried, 44, 'every job tried');
});

t.test('fair share: past usage (decayed) lowers a queue', async (t) => {
  const c = rackCluster(1, 1, 2);
  const pending = [eight('a-1', { queue: 'a' }), eight('b-2', { queue: 'b' }, { submittedMs: 5 })];
  const p = plan(c, pending, [], {}, { usage: new Map([['a', 1000 * H]]) });
  t.same(p.starts.map((s) => s.job.id), ['b-2', 'a-1'], 'the queue that used less goes first');
});

t.test('queue priority beats fair share and job priority', async (t) => {
  const c = rackCluster(1, 1, 1);
  const pending = [eight('low-1', { queue: 'batch', priority: 900 }), eight('high-2', { queue: 'prod', priority: 1 })];
  const p = plan(c, pending, [], { prod: { priority: 10 } });
  t.same(p.starts.map((s) => s.job.id), ['high-2']);
  t.match(p.waiting.get('low-1')?.text, /does not fit/);
});

t.test('quota: nominal + borrowing is a hard cap; the reason names the queue', async (t) => {
  const c = rackCluster(1, 2, 3);
  const pending = [1, 2, 3].map((i) => eight(`q-${i}`, { queue: 'research' }, { submittedMs: i }));
  const p = plan(c, pending, [], { research: { nominalGpus: 8, borrowingLimitGpus: 8 } });
  t.same(p.starts.map((s) => s.job.id), ['q-1', 'q-2']);
  t.match(p.waiting.get('q-3')?.text, /queue research is at its quota: 16 GPUs in use of 8 nominal \+ 8 borrowing, this job needs 8/);
  t.same(p.waiting.get('q-3')?.reasons, [{ level: 'queue', reason: 'quota', count: 1 }]);
});

t.test('preemption: whole gangs, the set with the least lost work, per domain', async (t) => {
  // rack-0-0: n-0-0-0, n-0-0-1; rack-0-1: n-0-1-0, n-0-1-1. Four low-priority 8-GPU gangs, one per node.
  const cases = [
    { name: 'lost work decides the rack', lost: { l1: 10, l2: 1, l3: 2, l4: 3 }, ckpt: {}, victims: ['l3-3', 'l4-4'] },
    { name: 'a recent checkpoint makes an old gang cheap', lost: { l1: 10, l2: 1, l3: 2, l4: 3 }, ckpt: { l1: 0.5 }, victims: ['l1-1', 'l2-2'] },
  ];
  for (const cs of cases) {
    const c = rackCluster(1, 2, 2);
    const nodes = ['n-0-0-0', 'n-0-0-1', 'n-0-1-0', 'n-0-1-1'];
    const active = (['l1', 'l2', 'l3', 'l4'] as const).map((n, i) =>
      eight(`${n}-${i + 1}`, { priority: 10 }, {
        on: [{ node: nodes[i]!, gpus: all8 }],
        startedMs: NOW - (cs.lost as Record<string, number>)[n]! * H,
        ...((cs.ckpt as Record<string, number>)[n] ? { lastCheckpointMs: NOW - (cs.ckpt as Record<string, number>)[n]! * H } : {}),
      }),
    );
    const head = jobRecord('big-9', { priority: 500, ranks: 2, gpusPerRank: 8, topology: { required: 'rack' } });
    const p = plan(c, [head], active);
    t.same(p.preemptions.map((x) => x.victim.id).sort(), cs.victims, cs.name);
    t.ok(p.preemptions.every((x) => x.preemptor.id === 'big-9'), `${cs.name}: for the head job`);
    t.equal(p.starts.length, 0, `${cs.name}: the preemptor waits for the victims to stop`);
    t.match(p.waiting.get('big-9')?.text, /preempting .*starts when their ranks have stopped/);
  }
});

t.test('preemption never takes an equal or higher priority gang, nor part of a gang', async (t) => {
  const c = rackCluster(1, 1, 2);
  const active = [
    eight('same-1', { priority: 500 }, { on: [{ node: 'n-0-0-0', gpus: all8 }], startedMs: NOW - H }),
    // A 2-node gang of low priority: evicting it frees both nodes, whole.
    jobRecord('gang-2', { priority: 10, ranks: 2, gpusPerRank: 4 }, { on: [{ node: 'n-0-0-1', gpus: [0, 1, 2, 3] }, { node: 'n-0-0-1', gpus: [4, 5, 6, 7] }], startedMs: NOW - H }),
  ];
  const p = plan(c, [jobRecord('want-3', { priority: 500, ranks: 2, gpusPerRank: 8 })], active);
  t.same(p.preemptions, [], 'freeing gang-2 alone is not enough and same-1 is not preemptible');
  const p2 = plan(rackCluster(1, 1, 2), [jobRecord('want-4', { priority: 500, gpusPerRank: 8 })], active.map((j) => ({ ...j })));
  t.same(p2.preemptions.map((x) => x.victim.id), ['gang-2'], 'the whole gang goes when it is enough');
});

t.test('quota reclaim: a queue within its nominal preempts a borrowing queue at equal priority', async (t) => {
  const c = rackCluster(1, 1, 2);
  const queues = { owner: { nominalGpus: 16 }, borrower: { nominalGpus: 0, borrowingLimitGpus: 16 } };
  const active = [
    eight('b-1', { queue: 'borrower' }, { on: [{ node: 'n-0-0-0', gpus: all8 }], startedMs: NOW - 2 * H }),
    eight('b-2', { queue: 'borrower' }, { on: [{ node: 'n-0-0-1', gpus: all8 }], startedMs: NOW - H }),
  ];
  const p = plan(c, [eight('o-3', { queue: 'owner' })], active, queues);
  t.same(p.preemptions.map((x) => x.victim.id), ['b-2'], 'the borrowed GPUs with the least lost work come back');
  const p2 = plan(rackCluster(1, 1, 2), [eight('b-4', { queue: 'borrower', priority: 100 })], active.map((j) => ({ ...j })), { ...queues, borrower: { nominalGpus: 0, borrowingLimitGpus: 100 } });
  t.same(p2.preemptions, [], 'a queue does not reclaim from itself at equal priority');
});

t.test('a job waiting for its victims to stop does not preempt more', async (t) => {
  const c = rackCluster(1, 1, 1);
  const active = [eight('low-1', { priority: 1 }, { on: [{ node: 'n-0-0-0', gpus: all8 }], startedMs: NOW - H })];
  const p = plan(c, [eight('high-2', { priority: 900 })], active, {}, { awaitingVictims: new Set(['high-2']) });
  t.same(p.preemptions, []);
  t.match(p.waiting.get('high-2')?.text, /waiting for the ranks it preempted to stop/);
});

t.test('EASY backfill: the head blocked job holds GPUs; only jobs that end before its start use them', async (t) => {
  // 4 nodes; a running 3-node job ends (by its limit) in 30 minutes; the head wants all 4.
  const c = rackCluster(1, 1, 4);
  const running = jobRecord('run-1', { priority: 500, ranks: 3, gpusPerRank: 8, timeLimit: '1h' }, {
    on: ['n-0-0-0', 'n-0-0-1', 'n-0-0-2'].map((node) => ({ node, gpus: all8 })),
    startedMs: NOW - 30 * 60_000,
  });
  const pending = [
    jobRecord('head-2', { priority: 400, ranks: 4, gpusPerRank: 8 }),
    eight('short-3', { priority: 100, timeLimit: '10m' }, { submittedMs: 1 }),
    eight('long-4', { priority: 100, timeLimit: '2h' }, { submittedMs: 2 }),
    eight('nolimit-5', { priority: 100 }, { submittedMs: 3 }),
  ];
  const p = plan(c, pending, [running]);
  t.same(p.reservation, { jobId: 'head-2', atMs: NOW + 30 * 60_000, gpus: 8 }, 'the head holds the free node until the running job ends');
  t.same(p.starts.map((s) => s.job.id), ['short-3'], 'only the job ending before then backfills');
  t.match(p.waiting.get('long-4')?.text, /does not fit/);
  t.match(p.waiting.get('nolimit-5')?.text, /does not fit/);
});

t.test('backfill candidates of one shape that miss are searched once, on the released reservation', async (t) => {
  // 4 nodes, 3 busy for 30 more minutes; the head wants all 4 and holds the free one. 30 short
  // two-node jobs would end before the reservation but fit nowhere even with its node: one search
  // for the lot, and the reservation stands (a miss changes nothing).
  const c = rackCluster(1, 1, 4);
  const running = jobRecord('run-1', { priority: 500, ranks: 3, gpusPerRank: 8, timeLimit: '1h' }, {
    on: ['n-0-0-0', 'n-0-0-1', 'n-0-0-2'].map((node) => ({ node, gpus: all8 })),
    startedMs: NOW - 30 * 60_000,
  });
  const pending = [
    jobRecord('head-2', { priority: 400, ranks: 4, gpusPerRank: 8 }),
    ...Array.from({ length: 30 }, (_, i) => jobRecord(`pair-${i + 10}`, { priority: 100, ranks: 2, gpusPerRank: 8, timeLimit: '10m' }, { submittedMs: 10 + i })),
    eight('short-90', { priority: 100, timeLimit: '10m' }, { submittedMs: 90 }),
  ];
  const p = plan(c, pending, [running]);
  t.same(p.reservation, { jobId: 'head-2', atMs: NOW + 30 * 60_000, gpus: 8 });
  t.same(p.starts.map((s) => s.job.id), ['short-90'], 'a one-node job still backfills after them');
  t.equal(new Set(Array.from({ length: 30 }, (_, i) => p.waiting.get(`pair-${i + 10}`)?.text)).size, 1, 'one reason for the shape');
  // head-2 (fails), pair-10 (fails; the other 29 reuse it), short-90 (fits).
  t.equal(p.searches, 3, 'one search per shape and snapshot');
});

t.test("backfill plans with a running job's deadline, the time its agent stops it (not its start + limit)", async (t) => {
  // Placed 10 min before it reported running: its deadline is 10 min earlier than startedMs + 1 h.
  const c = rackCluster(1, 1, 2);
  const running = eight('run-1', { priority: 500, timeLimit: '1h' }, { on: [{ node: 'n-0-0-0', gpus: all8 }], startedMs: NOW - 20 * 60_000, deadlineMs: NOW + 30 * 60_000 });
  const pending = [jobRecord('head-2', { priority: 400, ranks: 2, gpusPerRank: 8 }), eight('fits-3', { priority: 1, timeLimit: '30m' }), eight('over-4', { priority: 1, timeLimit: '31m' })];
  const p = plan(c, pending, [running]);
  t.same(p.reservation, { jobId: 'head-2', atMs: NOW + 30 * 60_000, gpus: 8 }, 'the reservation is at the deadline');
  t.same(p.starts.map((s) => s.job.id), ['fits-3'], 'a job ending by the deadline backfills; one a minute longer does not');
});

t.test('backfill: a reservation at an unknown time (running jobs without limits) lets no job onto its GPUs', async (t) => {
  const c = rackCluster(1, 1, 2);
  const running = eight('run-1', { priority: 500 }, { on: [{ node: 'n-0-0-0', gpus: all8 }], startedMs: NOW - H });
  const p = plan(c, [jobRecord('head-2', { priority: 400, ranks: 2, gpusPerRank: 8 }), eight('short-3', { priority: 1, timeLimit: '1m' })], [running]);
  t.equal(p.reservation?.jobId, 'head-2');
  t.equal(p.reservation?.atMs, Infinity);
  t.same(p.starts, []);
});

t.test('jobs that fit outside the reservation start at once, whatever their limit', async (t) => {
  const c = cluster(['rack'], [hgxNode('a', { rack: 'r1' }), hgxNode('b', { rack: 'r1' }), hgxNode('c', { rack: 'r2' }), hgxNode('d', { rack: 'r2' })]);
  const running = eight('run-1', { priority: 500, timeLimit: '1h' }, { on: [{ node: 'a', gpus: all8 }], startedMs: NOW });
  const pending = [jobRecord('head-2', { priority: 400, ranks: 2, gpusPerRank: 8, topology: { required: 'rack' } }), eight('other-3', { priority: 1 }), eight('x-4', { priority: 1 })];
  // head-2 fits in r2 now; this case checks the plain path: everything that fits starts.
  const p = plan(c, pending, [running]);
  t.same(p.starts.map((s) => s.job.id), ['head-2', 'other-3'], 'head in r2, the next on b');
  t.same(p.reservation, { jobId: 'x-4', atMs: NOW + H, gpus: 0 }, 'the next blocked job reserves node a for when run-1 ends');
});

t.test('a spec naming a level this cluster lacks fails the job', async (t) => {
  const c = rackCluster(1, 1, 1);
  const p = plan(c, [jobRecord('odd-1', { topology: { required: 'zone' } })], []);
  t.match(p.failures[0]?.message, /unknown level "zone"/);
});

/** An SLO service: `replicas` replicas (min = max) of 1 rank × `gpus` GPUs, serving on port … port + max - 1. */
const svc = (id: string, port: number, extra: Parameters<typeof jobRecord>[2] = {}, spec: Record<string, unknown> = {}) =>
  jobRecord(id, { kind: 'Inference', ranks: 1, gpusPerRank: 1, replicas: { min: 1, max: 4 }, slo: { p99Ms: 200, metric: 'latency_seconds', port }, ...spec }, extra);
const nodesOf = (p: ReturnType<typeof plan>, id: string) => p.starts.find((s) => s.job.id === id)?.placements.flatMap((pl) => pl.ranks.map((r) => r.node));

t.test('service ports: an overlapping block goes to another node, or waits with the reason', async (t) => {
  const running = () => svc('a-1', 9400, { on: [{ node: 'n-0-0-0', gpus: [0] }], startedMs: NOW - H });
  // Two nodes: best fit would pick a-1's node (7 free GPUs against 8), but its block 9400–9403 overlaps.
  const two = plan(rackCluster(1, 1, 2), [svc('b-2', 9402)], [running()]);
  t.same(nodesOf(two, 'b-2'), ['n-0-0-1'], 'the second service goes to the other node');
  // One node: nowhere else to go.
  const one = plan(rackCluster(1, 1, 1), [svc('b-2', 9402)], [running()]);
  t.equal(one.starts.length, 0, 'it does not start beside the overlapping block');
  const w = one.waiting.get('b-2');
  t.same(w?.reasons[0], { level: 'node', reason: "service ports 9402–9405 overlap job a-1's (9400–9403)", count: 1 }, 'the counted node reason names both blocks and the job');
  t.match(w?.text, /service ports 9402–9405 overlap job a-1's \(9400–9403\)/, 'and the text shows it (ExplainJob)');
  // Disjoint blocks share a node.
  const disjoint = plan(rackCluster(1, 1, 1), [svc('c-3', 9404)], [running()]);
  t.same(nodesOf(disjoint, 'c-3'), ['n-0-0-0'], 'a disjoint block shares the node');
  // A job without a block (training) is never masked.
  const training = plan(rackCluster(1, 1, 1), [jobRecord('t-4', { gpusPerRank: 1 })], [running()]);
  t.same(nodesOf(training, 't-4'), ['n-0-0-0'], 'a training job shares the node');
});

t.test("service ports: a service's own replicas share a node; a start this cycle holds its block for the jobs after it", async (t) => {
  const own = plan(rackCluster(1, 1, 1), [svc('s-1', 9400, {}, { replicas: { min: 3, max: 3 } })], []);
  t.same(nodesOf(own, 's-1'), ['n-0-0-0', 'n-0-0-0', 'n-0-0-0'], 'three replicas of one job on one node');
  const p = plan(rackCluster(1, 1, 1), [svc('a-1', 9400, { submittedMs: 1 }), svc('b-2', 9403, { submittedMs: 2 })], []);
  t.same(p.starts.map((s) => s.job.id), ['a-1'], 'the first starts');
  t.match(p.waiting.get('b-2')?.text, /service ports 9403–9406 overlap job a-1's \(9400–9403\)/, "the second waits for the first's block, placed this cycle");
});

t.test('service ports: a failed placement is not reused for a job of the same shape under another mask', async (t) => {
  const active = [svc('a-1', 9400, { on: [{ node: 'n-0-0-0', gpus: [0] }], startedMs: NOW - H })];
  // b-2 and c-3 ask for the same shape; only b-2's block overlaps a-1's.
  const p = plan(rackCluster(1, 1, 1), [svc('b-2', 9401, { submittedMs: 1 }), svc('c-3', 9500, { submittedMs: 2 }), svc('d-4', 9402, { submittedMs: 3 })], active);
  t.match(p.waiting.get('b-2')?.text, /overlap job a-1's/, 'b-2 waits');
  t.same(nodesOf(p, 'c-3'), ['n-0-0-0'], 'c-3 starts: its unmasked search was not answered by b-2 failure');
  t.match(p.waiting.get('d-4')?.text, /service ports 9402–9405 overlap job a-1's \(9400–9403\)/, "d-4's reason names its own block, not b-2's");
  t.notMatch(p.waiting.get('d-4')?.text, /9401–9404/, "b-2's reason is not reused for d-4");
});

t.test('service ports: an added replica of a running service avoids an overlapping block', async (t) => {
  // a-1 runs on n-0-0-1, b-2 (overlapping) on n-0-0-0: the tie between the two nodes would pick n-0-0-0.
  const a = svc('a-1', 9400, { on: [{ node: 'n-0-0-1', gpus: [0] }], startedMs: NOW - H }, { replicas: { min: 1, max: 2 } });
  const b = svc('b-2', 9401, { on: [{ node: 'n-0-0-0', gpus: [0] }], startedMs: NOW - H });
  const p = plan(rackCluster(1, 1, 2), [], [a, b], {}, { grow: [{ job: a, units: [1] }] });
  t.same(p.grown.map((g) => [g.unit, g.placement.ranks.map((r) => r.node)]), [[1, ['n-0-0-1']]], "the replica goes beside its own job's replica, not beside b-2");
  // One node holding both (as an older scheduler may have placed them): the replica waits, with the reason.
  const one = plan(rackCluster(1, 1, 1), [], [svc('a-1', 9400, { on: [{ node: 'n-0-0-0', gpus: [0] }] }, { replicas: { min: 1, max: 2 } }), svc('b-2', 9401, { on: [{ node: 'n-0-0-0', gpus: [1] }] })], {}, {
    grow: [{ job: svc('a-1', 9400, { on: [{ node: 'n-0-0-0', gpus: [0] }] }, { replicas: { min: 1, max: 2 } }), units: [1] }],
  });
  t.same(one.grown, []);
  t.match(one.growWaiting.get('a-1'), /service ports 9400–9401 overlap job b-2's \(9401–9404\)/, 'the replica waits, saying why');
});

t.test('service ports: preemption may evict the overlapping service; stopping ranks hold their block', async (t) => {
  const low = svc('low-1', 9400, { on: [{ node: 'n-0-0-0', gpus: [0] }], startedMs: NOW - H }, { priority: 1 });
  const p = plan(rackCluster(1, 1, 1), [svc('high-2', 9402, {}, { priority: 900 })], [low]);
  t.same(p.preemptions.map((x) => x.victim.id), ['low-1'], 'GPUs are free, but only evicting low-1 frees the ports');
  const same = plan(rackCluster(1, 1, 1), [svc('high-3', 9402, {}, { priority: 900 })], [svc('low-1', 9400, { on: [{ node: 'n-0-0-0', gpus: [0] }], startedMs: NOW - H }, { priority: 900 })]);
  t.same(same.preemptions, [], 'an equal-priority service is not evicted');
  t.match(same.waiting.get('high-3')?.text, /overlap job low-1's/);
  const stopping = plan(rackCluster(1, 1, 1), [svc('low-1', 9400)], [], {}, { stoppingPorts: [{ jobId: 'low-1', node: 'n-0-0-0', block: { lo: 9400, hi: 9403 } }] });
  t.equal(stopping.starts.length, 0, "a job's next run waits for its own stopping ranks' ports");
  t.match(stopping.waiting.get('low-1')?.text, /service ports 9400–9403 overlap stopping ranks of job low-1's \(9400–9403\)/);
});

t.test('MASTER_PORT: the plan picks each unit the lowest free port on its rank 0 node; a start finding none waits and holds nothing', async (t) => {
  const cases: Array<{ name: string; reserved: Record<string, number[]>; max: number; pending: JobRecord[]; ports: Record<string, number[]>; waits?: Record<string, string> }> = [
    { name: 'one gang, nothing reserved', reserved: {}, max: 29509, pending: [jobRecord('g-1', { gpusPerRank: 1 })], ports: { 'g-1': [29500] } },
    { name: 'skips ports held on the node', reserved: { 'n-0-0-0': [29500, 29501] }, max: 29509, pending: [jobRecord('g-1', { gpusPerRank: 1 })], ports: { 'g-1': [29502] } },
    {
      name: 'units of one job, and the next job, on one node: each its own',
      reserved: {},
      max: 29509,
      pending: [jobRecord('b-1', { kind: 'Batch', shards: 2, gpusPerRank: 1 }, { submittedMs: 1 }), jobRecord('g-2', { gpusPerRank: 1 }, { submittedMs: 2 })],
      ports: { 'b-1': [29500, 29501], 'g-2': [29502] },
    },
    {
      name: 'the range spent on the node: the job waits, naming it; the next smaller one still gets the port its units left',
      reserved: { 'n-0-0-0': [29500] },
      max: 29501,
      pending: [jobRecord('b-1', { kind: 'Batch', shards: 2, gpusPerRank: 1 }, { submittedMs: 1 }), jobRecord('g-2', { gpusPerRank: 1 }, { submittedMs: 2 })],
      ports: { 'g-2': [29501] },
      waits: { 'b-1': 'every port of the MASTER_PORT range is taken on n-0-0-0' },
    },
  ];
  for (const c of cases) {
    const reserved = new Map(Object.entries(c.reserved).map(([n, ps]) => [n, new Set(ps)]));
    const p = plan(rackCluster(1, 1, 1), c.pending, [], {}, { masterPorts: { range: { min: 29500, max: c.max }, reserved } });
    t.same(Object.fromEntries(p.starts.map((s) => [s.job.id, s.masterPorts])), c.ports, `${c.name}: ports`);
    t.same(Object.fromEntries([...p.waiting].map(([id, w]) => [id, w.text])), c.waits ?? {}, `${c.name}: waiting`);
  }
  const none = plan(rackCluster(1, 1, 1), [jobRecord('g-1', { gpusPerRank: 1 })], []);
  t.same(none.starts[0]?.masterPorts, [0], 'no masterPorts input: none picked');
});
