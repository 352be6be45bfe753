/**
 * The lifecycle's `fault` event (issue 20 point 3), case by case: an application XID an agent
 * attributed to a rank is recorded on the job; an active run of that epoch is requeued with cause
 * application-xid (a retry used); a run that already ended by a rank's exit keeps its one requeue,
 * now naming the XID; a fault of another node or epoch, or one already recorded, changes nothing.
 */
import t from 'tap';
import { step, type LifecycleEvent, type Outcome } from '../../../scheduler/jobs/lifecycle.js';
import { MAX_JOB_FAULTS, type JobFaultRecord, type JobRecord, type JobState, type RequeueCause } from '../../../shared/domain/index.js';
import { jobRecord } from '../../builders/job.js';

const NOW = 50_000;
const ctx = { nowMs: NOW, requeueInitialMs: 1000, requeueMaxMs: 10_000 };

/** A gang of 2 one-GPU ranks, rank i on node n{i+1}, epoch 3, in `state`. */
function gang(state: JobState, extra: Partial<JobRecord> = {}): JobRecord {
  return jobRecord('train-1', { gpusPerRank: 1, ranks: 2, maxRetries: 2 }, { on: [{ node: 'n1', gpus: [0] }, { node: 'n2', gpus: [3] }], state, epoch: 3, ...extra });
}

const fault = (over: Partial<JobFaultRecord> = {}): JobFaultRecord => ({
  xid: 13,
  rank: 1,
  epoch: 3,
  node: 'n2',
  gpu: 3,
  pid: 4242,
  processName: 'python3',
  atMs: NOW - 100,
  evidence: 'Xid 13 on PCI 0000:9b:00 (pid 4242 python3): Graphics SM Warp Exception',
  ...over,
});
const ev = (f: JobFaultRecord): LifecycleEvent => ({ type: 'fault', fault: f });
const xidCause: RequeueCause = { kind: 'application-xid', rank: 1, node: 'n2', xid: 13, gpu: 3, pid: 4242 };
const exitCause: RequeueCause = { kind: 'rank-exited', rank: 1, node: 'n2', exitCode: 1, signal: null };

interface Case {
  name: string;
  job: JobRecord;
  fault: JobFaultRecord;
  want: Partial<JobRecord>;
  events: string[];
  commands: string[];
  /** The faults on the new record (their pids). */
  faults: number[];
  same?: boolean;
}

const cases: Case[] = [
  ...(['placed', 'starting', 'running'] as const).map((state) => ({
    name: `${state}, fault of the current epoch: recorded; the gang requeued with cause application-xid, a retry used`,
    job: gang(state),
    fault: fault(),
    want: { state: 'requeued' as const, attempt: 1, cause: xidCause, message: 'rank 1 on n2 hit XID 13 on GPU 3 (pid 4242); requeued (retry 1 of 2)', requeueAtMs: NOW + 1000 },
    events: ['fault', 'requeued'],
    commands: ['stop', 'schedule'],
    faults: [4242],
  })),
  {
    name: 'running with no retries left, fault: recorded; the job fails naming the XID',
    job: gang('running', { attempt: 2 }),
    fault: fault(),
    want: { state: 'failed', cause: xidCause, message: 'rank 1 on n2 hit XID 13 on GPU 3 (pid 4242); no retries left (2)', finishedMs: NOW },
    events: ['fault', 'failed'],
    commands: ['stop', 'schedule'],
    faults: [4242],
  },
  {
    name: 'requeued after the rank exited (exit first, then the fault): one requeue, now naming the XID; no second retry, no command',
    job: gang('requeued', { attempt: 1, cause: exitCause, message: 'rank 1 on n2 exited with code 1; requeued (retry 1 of 2)', requeueAtMs: NOW + 1000 }),
    fault: fault(),
    want: { state: 'requeued', attempt: 1, cause: xidCause, message: 'rank 1 on n2 hit XID 13 on GPU 3 (pid 4242); requeued (retry 1 of 2)', requeueAtMs: NOW + 1000 },
    events: ['fault'],
    commands: [],
    faults: [4242],
  },
  {
    name: "requeued after another rank's loss of the same run: the XID is why",
    job: gang('requeued', { attempt: 1, cause: { kind: 'rank-gone', rank: 0, node: 'n1' }, requeueAtMs: NOW + 1000 }),
    fault: fault(),
    want: { state: 'requeued', attempt: 1, cause: xidCause },
    events: ['fault'],
    commands: [],
    faults: [4242],
  },
  {
    name: 'failed after the rank exited with no retries left: the failure names the XID',
    job: gang('failed', { attempt: 2, cause: exitCause, finishedMs: NOW - 10 }),
    fault: fault(),
    want: { state: 'failed', cause: xidCause, message: 'rank 1 on n2 hit XID 13 on GPU 3 (pid 4242); no retries left (2)', finishedMs: NOW - 10 },
    events: ['fault'],
    commands: [],
    faults: [4242],
  },
  {
    name: 'requeued for a preemption: the cause stays (no rank ended by itself); the fault is recorded',
    job: gang('requeued', { cause: { kind: 'preempted', by: 'big-7', priority: 100, queue: 'prod', lostWorkGpuMs: 0 } }),
    fault: fault({ xid: 45 }),
    want: { state: 'requeued', cause: { kind: 'preempted', by: 'big-7', priority: 100, queue: 'prod', lostWorkGpuMs: 0 } },
    events: ['fault'],
    commands: [],
    faults: [4242],
  },
  ...(['succeeded', 'cancelled', 'timeout'] as const).map((state) => ({
    name: `${state}, fault: recorded only`,
    job: gang(state),
    fault: fault(),
    want: { state, updatedMs: NOW },
    events: ['fault'],
    commands: [],
    faults: [4242],
  })),
  {
    name: 'a GPU the agent could not name: the cause says no GPU',
    job: gang('running'),
    fault: fault({ gpu: null }),
    want: { state: 'requeued', cause: { ...xidCause, gpu: -1 }, message: 'rank 1 on n2 hit XID 13 (pid 4242); requeued (retry 1 of 2)' },
    events: ['fault', 'requeued'],
    commands: ['stop', 'schedule'],
    faults: [4242],
  },
  {
    name: 'a fault from a node the rank is not on: ignored',
    job: gang('running'),
    fault: fault({ node: 'n1' }),
    want: { state: 'running' },
    events: [],
    commands: [],
    faults: [],
    same: true,
  },
  {
    name: 'a fault of an older epoch: ignored',
    job: gang('running'),
    fault: fault({ epoch: 2 }),
    want: { state: 'running' },
    events: [],
    commands: [],
    faults: [],
    same: true,
  },
  {
    name: 'a fault of a rank the job does not have: ignored',
    job: gang('running'),
    fault: fault({ rank: 7 }),
    want: { state: 'running' },
    events: [],
    commands: [],
    faults: [],
    same: true,
  },
  {
    name: 'a pending job (no placement): ignored',
    job: jobRecord('train-1', { gpusPerRank: 1, ranks: 2 }),
    fault: fault(),
    want: { state: 'pending' },
    events: [],
    commands: [],
    faults: [],
    same: true,
  },
  {
    name: 'the same fault again (XID, pid, rank, epoch, node): nothing',
    job: gang('requeued', { cause: xidCause, faults: [fault()] }),
    fault: fault({ atMs: NOW }),
    want: { state: 'requeued' },
    events: [],
    commands: [],
    faults: [4242],
    same: true,
  },
  {
    name: 'another XID of the same pid after the requeue: recorded beside the first',
    job: gang('requeued', { attempt: 1, cause: xidCause, faults: [fault()] }),
    fault: fault({ xid: 45 }),
    want: { state: 'requeued', attempt: 1, cause: xidCause },
    events: ['fault'],
    commands: [],
    faults: [4242, 4242],
  },
];

const kinds = (o: Outcome): string[] => o.commands.map((c) => c.kind);

for (const c of cases) {
  t.test(c.name, async (t) => {
    const before = structuredClone(c.job);
    const o = step(c.job, ev(c.fault), ctx);
    t.same(c.job, before, 'the input record is not changed');
    t.match(o.job, c.want, 'the new record');
    if (c.want.cause) t.same(o.job.cause, c.want.cause, 'its cause');
    t.same(o.events, c.events, 'events');
    t.same(kinds(o), c.commands, 'commands');
    t.same((o.job.faults ?? []).map((f) => f.pid), c.faults, 'the faults recorded');
    t.equal(o.job === c.job, c.same === true, c.same ? 'the same record: nothing to write' : 'a new record');
    if (c.faults.length && !c.same) t.same(o.job.faults!.at(-1), c.fault, 'the fault as given');
  });
}

t.test('both orders end in one requeue naming the XID: fault then exit, exit then fault', async (t) => {
  const exit: LifecycleEvent = { type: 'rank-reported', node: 'n2', report: { rank: 1, epoch: 3, state: 'exited', exitCode: null, signal: 'SIGABRT', message: '' } };
  // fault first: requeued; the rank's exit afterwards is a late exit (kept on the rank, nothing else).
  let a = step(gang('running'), ev(fault()), ctx);
  a = step(a.job, exit, ctx);
  t.match(a.job, { state: 'requeued', attempt: 1, cause: xidCause });
  t.same(a.events, [], 'the exit after the fault: no second requeue');
  // exit first: requeued for the exit; the fault then names the XID, no retry spent twice.
  let b = step(gang('running'), exit, ctx);
  t.match(b.job, { state: 'requeued', attempt: 1, cause: { kind: 'rank-exited' } });
  b = step(b.job, ev(fault()), ctx);
  t.match(b.job, { state: 'requeued', attempt: 1, cause: xidCause });
  t.same(b.commands, [], 'no second stop');
  t.equal(a.job.message, b.job.message, 'the same message either way');
});

t.test('a running inference service loses only the replica the XID hit; the others run on', async (t) => {
  const on = [0, 1].map((u) => ({ node: `n${u + 1}`, gpus: [0] }));
  const svc = jobRecord('svc-1', { kind: 'Inference', ranks: 1, gpusPerRank: 1, replicas: { min: 1, max: 4 } }, { on, state: 'running', epoch: 3, replicasTarget: 2 });
  svc.ranks.forEach((r, u) => (r.unit = u));
  const o = step(svc, ev(fault({ rank: 1, node: 'n2', gpu: 0 })), ctx);
  t.match(o.job, { state: 'running', message: /^rank 1 on n2 hit XID 13 on GPU 0 \(pid 4242\); replacing replica 1/ });
  t.same(o.job.ranks.map((r) => r.rank), [0], 'replica 0 runs on');
  t.same(o.events, ['fault', 'replica']);
  t.same(kinds(o), ['stop', 'schedule']);
  t.equal(o.job.faults!.length, 1);
});

t.test(`the faults are bounded: the last ${MAX_JOB_FAULTS} stay`, async (t) => {
  let job = gang('cancelled');
  for (let pid = 1; pid <= MAX_JOB_FAULTS + 5; pid++) job = step(job, ev(fault({ pid })), ctx).job;
  t.equal(job.faults!.length, MAX_JOB_FAULTS);
  t.same(job.faults!.map((f) => f.pid), Array.from({ length: MAX_JOB_FAULTS }, (_, i) => i + 6), 'the oldest went first');
});
