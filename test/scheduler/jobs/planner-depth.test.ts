/** The queue depth (jobs.queueDepthJobs): a cycle looks at the first N pending jobs in admission order only. Pure. */
import t from 'tap';
import { planOn } from '../../builders/plan-cycle.js';
import { beyondDepthText, planCycle } from '../../../scheduler/jobs/planner.js';
import { DEFAULT_QUEUE } from '../../../scheduler/queue/index.js';
import type { JobRecord } from '../../../shared/domain/index.js';
import { rackCluster } from '../../builders/cluster.js';
import { jobRecord } from '../../builders/job.js';

function plan(pending: JobRecord[], queueDepth: number | undefined, pendingCount?: number) {
  return planOn(rackCluster(1, 1, 2), {
    // two nodes of 8 GPUs
    nowMs: 1_000_000,
    pending,
    ...(queueDepth !== undefined ? { queueDepth } : {}),
    ...(pendingCount !== undefined ? { pendingCount } : {}),
  });
}

/** Whole-node jobs j-1..j-n, submitted in that order. */
const nodeJobs = (n: number): JobRecord[] => Array.from({ length: n }, (_, i) => jobRecord(`j-${i + 1}`, { gpusPerRank: 8 }, { submittedMs: 1000 + i }));

t.test('jobs beyond the depth are not tried: in none of starts, waiting, failures; counted', async (t) => {
  const cases: Array<{ depth: number | undefined; started: string[]; waiting: string[]; beyond: number }> = [
    { depth: 3, started: ['j-1', 'j-2'], waiting: ['j-3'], beyond: 2 },
    { depth: 1, started: ['j-1'], waiting: [], beyond: 4 },
    { depth: 0, started: ['j-1', 'j-2'], waiting: ['j-3', 'j-4', 'j-5'], beyond: 0 },
    { depth: undefined, started: ['j-1', 'j-2'], waiting: ['j-3', 'j-4', 'j-5'], beyond: 0 },
    { depth: 5, started: ['j-1', 'j-2'], waiting: ['j-3', 'j-4', 'j-5'], beyond: 0 },
  ];
  for (const c of cases) {
    const p = plan(nodeJobs(5), c.depth);
    const name = `depth ${c.depth}`;
    t.same(p.starts.map((s) => s.job.id), c.started, `${name}: starts`);
    t.same([...p.waiting.keys()].sort(), c.waiting, `${name}: waiting`);
    t.equal(p.beyondDepth, c.beyond, `${name}: beyond the depth`);
    t.equal(p.failures.length, 0);
  }
});

t.test('a job that would fit waits when the jobs ahead fill the depth (the price of the bound)', async (t) => {
  const big = jobRecord('a-big', { ranks: 3, gpusPerRank: 8 }, { submittedMs: 1000 }); // 24 GPUs on 16: waits
  const small = jobRecord('b-small', { gpusPerRank: 1 }, { submittedMs: 2000 });
  const shallow = plan([big, small], 1);
  t.same(shallow.starts, [], 'depth 1: the small job is not tried');
  t.equal(shallow.beyondDepth, 1);
  const deep = plan([big, small], 2);
  t.same(deep.starts.map((s) => s.job.id), ['b-small'], 'depth 2: it is');
});

t.test('a caller may pass only the jobs the depth reaches, with the count of all (the simulator does)', async (t) => {
  const all = plan(nodeJobs(5), 3);
  const head = plan(nodeJobs(5).slice(0, 3), 3, 5);
  t.same(head.starts.map((s) => s.job.id), all.starts.map((s) => s.job.id), 'same starts');
  t.same([...head.waiting.keys()], [...all.waiting.keys()], 'same waiting');
  t.equal(head.beyondDepth, all.beyondDepth, 'same count beyond the depth');
});

t.test('the waiting text names the depth', async (t) => {
  t.match(beyondDepthText(500), /^not tried this cycle: beyond the queue depth \(the first 500 pending jobs/);
});
