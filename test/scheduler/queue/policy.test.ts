import t from 'tap';
import { AdmissionOrder, DEFAULT_QUEUE, decayedUsage, jobMinGpus, lostWorkGpuMs, mayPreempt, quotaBlock } from '../../../scheduler/queue/index.js';
import { jobRecord } from '../../builders/job.js';

const H = 3_600_000;

t.test('decayed usage: GPU-ms weighted by 2^(-age/halfLife)', async (t) => {
  const now = 10 * H;
  const running = jobRecord('a-1', { gpusPerRank: 8, queue: 'a' }, { on: [{ node: 'n', gpus: [0, 1, 2, 3, 4, 5, 6, 7] }], startedMs: now - H });
  const old = jobRecord('b-2', { gpusPerRank: 8, queue: 'b' }, { on: [{ node: 'n', gpus: [0, 1, 2, 3, 4, 5, 6, 7] }], startedMs: now - 3 * H, finishedMs: now - 2 * H, state: 'succeeded' });
  const u = decayedUsage([running, old], now, H);
  // ∫ 8·2^(-(now-t)/H) dt over the last hour = 8·H/ln2·(1 - 1/2)
  t.ok(Math.abs(u.get('a')! - (8 * H * 0.5) / Math.LN2) < 1, 'running job: the last hour, decayed');
  t.ok(Math.abs(u.get('b')! - (8 * H * (0.25 - 0.125)) / Math.LN2) < 1, 'an hour that ended two half-lives ago weighs a quarter to an eighth');
  t.equal(decayedUsage([jobRecord('p-3')], now, H).size, 0, 'a job that never started used nothing');
});

t.test('quota', async (t) => {
  t.equal(quotaBlock('q', DEFAULT_QUEUE, 1000, 1000), null, 'no quota, no limit');
  t.equal(quotaBlock('q', { ...DEFAULT_QUEUE, nominalGpus: 8, borrowingLimitGpus: null }, 1000, 8), null, 'unlimited borrowing');
  t.equal(quotaBlock('q', { ...DEFAULT_QUEUE, nominalGpus: 8, borrowingLimitGpus: 0 }, 0, 8), null, 'exactly nominal');
  t.match(quotaBlock('q', { ...DEFAULT_QUEUE, nominalGpus: 8, borrowingLimitGpus: 0 }, 1, 8), /queue q is at its quota/);
  t.equal(jobMinGpus(jobRecord('i-1', { kind: 'Inference', ranks: 2, gpusPerRank: 4, replicas: { min: 3, max: 5 } })), 24, 'inference: min replicas');
});

t.test('admission order: queue priority, then share, then job priority and age', async (t) => {
  const q = (name: string) => ({ ...DEFAULT_QUEUE, priority: name === 'hi' ? 5 : 0 });
  const jobs = [
    jobRecord('x-1', { queue: 'lo', priority: 1 }, { submittedMs: 1 }),
    jobRecord('x-2', { queue: 'lo', priority: 9 }, { submittedMs: 2 }),
    jobRecord('x-3', { queue: 'hi', priority: 1 }, { submittedMs: 3 }),
    jobRecord('x-4', { queue: 'other' }, { submittedMs: 0 }),
  ];
  const o = new AdmissionOrder(jobs, q, new Map([['lo', 5]]), new Map(), H);
  const seen: string[] = [];
  for (let j = o.next(); j; j = o.next()) {
    seen.push(j.id);
    o.admitted(j, 8);
  }
  t.same(seen, ['x-3', 'x-4', 'x-2', 'x-1'], 'hi first; then other (no usage) before lo; within lo by job priority');
});

t.test('who may preempt whom, and lost work', async (t) => {
  const q = (name: string) => ({ ...DEFAULT_QUEUE, priority: name === 'hi' ? 5 : 0, nominalGpus: name === 'own' ? 16 : name === 'bor' ? 0 : null, borrowingLimitGpus: null });
  const v = jobRecord('v-1', { queue: 'lo', priority: 999 }, { on: [{ node: 'n', gpus: [0, 1] }], startedMs: 0, lastCheckpointMs: 3 * H });
  t.ok(mayPreempt(jobRecord('p-2', { queue: 'hi', priority: 0 }), v, q, () => 0), 'a higher queue priority wins over job priority');
  t.notOk(mayPreempt(jobRecord('p-3', { queue: 'lo', priority: 999 }), v, q, () => 0), 'equal priority does not preempt');
  t.ok(mayPreempt(jobRecord('p-4', { queue: 'lo', priority: 1000 }), v, q, () => 0), 'a higher job priority in an equal queue does');
  const borrower = jobRecord('b-5', { queue: 'bor' }, { on: [{ node: 'n', gpus: [0] }] });
  t.ok(mayPreempt(jobRecord('o-6', { queue: 'own' }), borrower, q, (name) => (name === 'bor' ? 8 : 0)), 'reclaim from a borrowing queue');
  t.notOk(mayPreempt(jobRecord('o-7', { queue: 'own', gpusPerRank: 8, ranks: 3 }), borrower, q, (name) => (name === 'bor' ? 8 : 0)), 'not beyond the own nominal');
  t.equal(lostWorkGpuMs(v, 5 * H), 2 * 2 * H, 'two GPUs since the last checkpoint');
});
