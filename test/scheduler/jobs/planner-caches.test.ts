/**
 * What the planner keeps between and within cycles for speed (issue 22: the Philly trace at load
 * 0.9 in under 60 s) changes no decision: unworded plans (explain: false) decide as worded ones,
 * a caller's per-queue GPUs are the ones used, a miss of one cycle is not taken for the next's,
 * the request memo leaves a spec's JSON and clone as they were, and futureStart's ends come in
 * a stable sort's order. Pure.
 */
import t from 'tap';
import { planOn } from '../../builders/plan-cycle.js';
import { EndOrder, endOf } from '../../../scheduler/jobs/what-if.js';
import { planCycle, type PlanInput } from '../../../scheduler/jobs/planner.js';
import { DEFAULT_QUEUE, type QueueConfig } from '../../../scheduler/queue/index.js';
import type { JobRecord } from '../../../shared/domain/index.js';
import { rackCluster, type TestCluster } from '../../builders/cluster.js';
import { jobRecord } from '../../builders/job.js';
import { rng as seeded } from '../../builders/prng.js';

const NOW = 10_000_000;
const all8 = [0, 1, 2, 3, 4, 5, 6, 7];

function plan(c: TestCluster, pending: JobRecord[], active: JobRecord[], extra: Partial<PlanInput> = {}) {
  return planOn(c, { nowMs: NOW, pending, active, ...extra });
}

/** A backlog behind a reservation: 4 nodes, 2 held by 1 h jobs, a 3-node gang first, then shorter and smaller jobs. */
function backlog(): { active: JobRecord[]; pending: JobRecord[] } {
  const active = [0, 1].map((i) => jobRecord(`run-${i}`, { gpusPerRank: 8, timeLimit: '1h' }, { on: [{ node: `n-0-0-${i}`, gpus: all8 }], startedMs: NOW - (30 + i) * 60_000 }));
  const pending = [
    jobRecord('gang-1', { ranks: 3, gpusPerRank: 8, timeLimit: '2h' }, { submittedMs: 1 }),
    ...Array.from({ length: 12 }, (_, i) => jobRecord(`small-${i + 2}`, { ranks: 1 + (i % 3), gpusPerRank: [8, 4, 2][i % 3], timeLimit: i % 2 ? '10m' : '3h' }, { submittedMs: 2 + i })),
  ];
  return { active, pending };
}

t.test('explain: false decides as a worded plan does, and words nothing', async (t) => {
  const a = backlog();
  const worded = plan(rackCluster(1, 1, 4), a.pending, a.active);
  const b = backlog();
  const bare = plan(rackCluster(1, 1, 4), b.pending, b.active, { explain: false });
  const starts = (p: typeof worded) => p.starts.map((s) => ({ job: s.job.id, ranks: s.placements.flatMap((pl) => pl.ranks.map((r) => [r.nodeId, ...r.gpus])) }));
  t.ok(worded.starts.length > 0 && worded.waiting.size > 0 && worded.reservation, 'the case has starts, waiting jobs and a reservation');
  t.same(starts(bare), starts(worded), 'the same starts on the same GPUs');
  t.same(bare.reservation, worded.reservation, 'the same reservation');
  t.same([...bare.waiting.keys()], [...worded.waiting.keys()], 'the same jobs wait');
  t.ok([...worded.waiting.values()].some((w) => w.reasons.length > 0), 'worded: counted reasons');
  t.ok([...bare.waiting.values()].every((w) => w.reasons.length === 0), 'unworded: none counted');
});

t.test("the caller's per-queue GPUs are the ones quotas see", async (t) => {
  const queues = (name: string): QueueConfig => (name === 'capped' ? { ...DEFAULT_QUEUE, nominalGpus: 8, borrowingLimitGpus: 0 } : DEFAULT_QUEUE);
  const job = () => [jobRecord('q-1', { gpusPerRank: 8, queue: 'capped' }, { submittedMs: 1 })];
  const free = plan(rackCluster(1, 1, 2), job(), [], { queues });
  t.same(free.starts.map((s) => s.job.id), ['q-1'], 'summed from active (none): it starts');
  const told = plan(rackCluster(1, 1, 2), job(), [], { queues, allocated: new Map([['capped', 8]]) });
  t.same(told.starts, [], 'told the queue holds 8: it waits');
  t.match(told.waiting.get('q-1')?.text, /queue capped is at its quota: 8 GPUs in use of 8 nominal/);
});

t.test("a miss of one cycle is not taken for the next cycle's, at the same snapshot version", async (t) => {
  // The same spec object in both cycles (its request and shape are memoized on it).
  const waiting = jobRecord('w-1', { gpusPerRank: 8 }, { submittedMs: 1 });
  const holder = jobRecord('h-0', { gpusPerRank: 8 }, { on: [{ node: 'n-0-0-0', gpus: all8 }], startedMs: NOW - 1000 });
  const first = plan(rackCluster(1, 1, 1), [waiting], [holder]);
  t.same(first.starts, [], 'the node is held: it waits');
  const second = plan(rackCluster(1, 1, 1), [{ ...waiting }], []);
  t.same(second.starts.map((s) => s.job.id), ['w-1'], 'the node is free in the next cycle: it starts');
});

t.test('the request memo leaves the spec as it was: keys, JSON, a clone', async (t) => {
  const job = jobRecord('m-1', { gpusPerRank: 8 }, { submittedMs: 1 });
  const keys = Object.keys(job.spec);
  const json = JSON.stringify(job.spec);
  plan(rackCluster(1, 1, 1), [job], []);
  t.same(Object.keys(job.spec), keys, 'the same keys');
  t.equal(JSON.stringify(job.spec), json, 'the same JSON');
  t.same(structuredClone(job.spec), JSON.parse(json), 'a clone holds only the spec');
  const frozen = jobRecord('f-2', { gpusPerRank: 8 }, { submittedMs: 1 });
  Object.freeze(frozen.spec);
  t.same(plan(rackCluster(1, 1, 1), [frozen], []).starts.map((s) => s.job.id), ['f-2'], 'a frozen spec plans (not memoized)');
});

t.test("futureStart's ends: a stable sort's order, drawn from a heap", async (t) => {
  const r = seeded(22);
  const rng = (): number => r.next();
  for (let round = 0; round < 200; round++) {
    const n = Math.floor(rng() * 40);
    const active = Array.from({ length: n }, (_, i) => {
      const limit = rng() < 0.15 ? undefined : `${1 + Math.floor(rng() * 4)}m`;
      const deadline = rng() < 0.3 ? { deadlineMs: NOW + Math.floor(rng() * 4) * 60_000 } : {};
      return jobRecord(`a-${i}`, limit ? { timeLimit: limit } : {}, { startedMs: NOW - Math.floor(rng() * 3) * 60_000, ...deadline });
    });
    const want = active.map((j, i) => ({ i, end: endOf(j, NOW) })).sort((a, b) => a.end - b.end).map((x) => x.i);
    const order = new EndOrder(active, NOW);
    const got: number[] = [];
    for (let i = order.next(); i >= 0; i = order.next()) got.push(i);
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      t.same(got, want, `round ${round}: the order of ${n} ends`);
      return;
    }
  }
  t.pass('200 random sets with ties and unlimited jobs: the same order');
});

t.test('recordSkipped: false leaves jobs not tried this cycle out of waiting; the decisions are the same', async (t) => {
  const run = (recordSkipped: boolean | undefined) => {
    const b = backlog();
    // Every small job unchanged since it last failed; the reservation's head is tried.
    const unchanged = (job: JobRecord): boolean => job.id.startsWith('small-');
    return plan(rackCluster(1, 1, 4), b.pending, b.active, { unchanged, ...(recordSkipped === undefined ? {} : { recordSkipped }) });
  };
  const all = run(undefined);
  const lean = run(false);
  const skipped = [...all.waiting].filter(([, w]) => w.skipped).map(([id]) => id);
  t.ok(skipped.length > 0, 'by default the unchanged jobs are in waiting, skipped');
  t.same([...lean.waiting.keys()], [...all.waiting.keys()].filter((id) => !skipped.includes(id)), 'recordSkipped false: they are not');
  t.same(lean.starts.map((s) => s.job.id), all.starts.map((s) => s.job.id), 'the same starts');
  t.same(lean.reservation, all.reservation, 'the same reservation');
});
