/**
 * The lifecycle's health transitions (issue 20), case by case: a node that failed its health
 * checks (evict) requeues the gangs on it without a retry and within the eviction deadline; a
 * failed prolog requeues the job elsewhere, remembers the node, and holds the job at the threshold;
 * an operator releases a held job.
 */
import t from 'tap';
import { step, type JobCommand, type LifecycleEvent, type RankReport } from '../../../scheduler/jobs/lifecycle.js';
import type { JobRecord, JobState, RankRecord } from '../../../shared/domain/index.js';
import { jobRecord } from '../../builders/job.js';

const NOW = 50_000;
const ctx = { nowMs: NOW, requeueInitialMs: 1000, requeueMaxMs: 10_000 };

function gang(state: JobState, opts: { n?: number; ranks?: RankRecord['state'][]; spec?: Record<string, unknown>; extra?: Partial<JobRecord> } = {}): JobRecord {
  const n = opts.n ?? 2;
  const on = state === 'pending' || state === 'requeued' ? undefined : Array.from({ length: n }, (_, i) => ({ node: `n${i + 1}`, gpus: [i] }));
  const job = jobRecord('train-1', { gpusPerRank: 1, ranks: n, maxRetries: 2, ...opts.spec }, { on, state, epoch: on ? 3 : 0, ...opts.extra });
  job.ranks.forEach((r, i) => {
    r.state = opts.ranks?.[i] ?? r.state;
    if (r.state === 'exited') r.exitCode = 0;
  });
  return job;
}

const unhealthy = (node: string, withinSeconds = 30): LifecycleEvent => ({ type: 'node-unhealthy', node, checks: ['xid gpu 3', 'nvlink'], withinSeconds });
const prolog = (node: string, rank: number, message = 'prolog exited 1: /etc/gantry/prolog: GPU 0 ECC'): LifecycleEvent => ({
  type: 'rank-reported',
  node,
  report: { rank, epoch: 3, state: 'failed-to-start', exitCode: null, signal: null, message, refusal: 'prolog-failed' } satisfies RankReport,
});
const stopOf = (cmds: JobCommand[]): Extract<JobCommand, { kind: 'stop' }> => cmds.find((c): c is Extract<JobCommand, { kind: 'stop' }> => c.kind === 'stop')!;

t.test('node unhealthy: every running gang with a rank there is requeued at once, no retry used, a cycle asked for', async (t) => {
  for (const state of ['placed', 'starting', 'running'] as const) {
    const job = gang(state, { extra: { attempt: 1 } });
    const o = step(job, unhealthy('n2'), ctx);
    t.equal(o.job.state, 'requeued', state);
    t.equal(o.job.attempt, 1, 'no retry used');
    t.equal(o.job.requeueAtMs, NOW, 'requeued at once');
    t.same(o.job.cause, { kind: 'node-unhealthy', node: 'n2', checks: ['xid gpu 3', 'nvlink'] });
    t.equal(o.job.message, 'node n2 failed its health checks (xid gpu 3, nvlink); requeued (no retry used)');
    t.same(o.events, ['requeued']);
    t.same(
      o.commands.map((c) => c.kind),
      ['stop', 'schedule'],
    );
    const stop = stopOf(o.commands);
    t.same(
      stop.tasks.map((x) => x.rank),
      [0, 1],
      'the whole gang stops',
    );
  }
});

t.test("node unhealthy: the stop's grace is the job's, at most the eviction deadline", async (t) => {
  t.equal(stopOf(step(gang('running', { spec: { preemptGraceSeconds: 120 } }), unhealthy('n1', 30), ctx).commands).graceSeconds, 30, 'capped');
  t.equal(stopOf(step(gang('running', { spec: { preemptGraceSeconds: 5 } }), unhealthy('n1', 30), ctx).commands).graceSeconds, 5, "the job's own when shorter");
  t.equal(stopOf(step(gang('running', { spec: { preemptGraceSeconds: 5 } }), unhealthy('n1', 0), ctx).commands).graceSeconds, 0, 'a deadline of 0: killed at once');
});

t.test('node unhealthy: no change for a gang not on the node, one whose rank there exited, or a job not active', async (t) => {
  const job = gang('running');
  t.equal(step(job, unhealthy('n9'), ctx).job, job, 'not on the node');
  const exited = gang('running', { ranks: ['running', 'exited'] });
  t.equal(step(exited, unhealthy('n2'), ctx).job, exited, 'its rank there exited 0');
  for (const state of ['pending', 'requeued', 'succeeded', 'failed', 'cancelled', 'timeout'] as const) {
    const j = gang(state);
    t.equal(step(j, unhealthy('n1'), ctx).job, j, state);
  }
});

t.test('prolog failed: requeued elsewhere at once, no retry used, the node remembered, a cycle asked for', async (t) => {
  const job = gang('starting', { ranks: ['starting', 'starting'], extra: { attempt: 2 } });
  const o = step(job, prolog('n2', 1), ctx);
  t.match(o.job, {
    state: 'requeued',
    attempt: 2,
    requeueAtMs: NOW,
    prologFailedOn: ['n2'],
    cause: { kind: 'prolog-failed', rank: 1, node: 'n2', error: 'prolog exited 1: /etc/gantry/prolog: GPU 0 ECC' },
    message: 'the prolog on n2 failed before rank 1 started: prolog exited 1: /etc/gantry/prolog: GPU 0 ECC; requeued (no retry used)',
  });
  t.equal(o.job.held, undefined, 'not held after one node');
  t.same(
    o.commands.map((c) => c.kind),
    ['stop', 'schedule'],
  );
  t.same(
    stopOf(o.commands).tasks.map((x) => x.rank),
    [0],
    'the other rank stops',
  );
  t.equal(o.job.ranks[1]!.startError, 'prolog exited 1: /etc/gantry/prolog: GPU 0 ECC');
});

t.test('prolog failed on the threshold of distinct nodes: held, with the nodes and the last error; the same node twice counts once', async (t) => {
  const again = step(gang('starting', { extra: { prologFailedOn: ['n1', 'n2'] } }), prolog('n2', 1), ctx);
  t.same(again.job.prologFailedOn, ['n1', 'n2']);
  t.equal(again.job.held, undefined, 'two distinct nodes: not held');
  const third = step(gang('starting', { extra: { prologFailedOn: ['n7', 'n8'] } }), prolog('n1', 0, 'prolog timed out after 60 s'), ctx);
  t.same(third.job.prologFailedOn, ['n7', 'n8', 'n1']);
  t.same(third.job.held, { reason: 'prolog failed on n7, n8, n1: prolog timed out after 60 s; held until released (gantry release train-1)', atMs: NOW });
  t.equal(third.job.message, third.job.held!.reason);
  t.equal(third.job.state, 'requeued');
  const two = step(gang('starting', { extra: { prologFailedOn: ['n7'] } }), prolog('n1', 0), { ...ctx, prologFailuresToHold: 2 });
  t.ok(two.job.held, 'the threshold comes from the context (health.prologFailuresToHold)');
  // Its backoff over, a held job is pending with its held reason as its message.
  const pending = step({ ...third.job, requeueAtMs: NOW }, { type: 'backoff-over' }, ctx);
  t.equal(pending.job.state, 'pending');
  t.equal(pending.job.message, third.job.held!.reason);
  t.ok(pending.job.held);
});

t.test('release: a held job loses its hold and its prolog failures, a cycle asked for; one not held is refused', async (t) => {
  const held = gang('pending', { extra: { prologFailedOn: ['n1', 'n2', 'n3'], held: { reason: 'prolog failed on n1, n2, n3: x; held until released (gantry release train-1)', atMs: 1 } } });
  const o = step(held, { type: 'release', by: 'admin' }, ctx);
  t.equal(o.job.state, 'pending');
  t.equal(o.job.held, undefined);
  t.equal(o.job.prologFailedOn, undefined);
  t.match(o.job.message, /^released by admin \(was: prolog failed on n1, n2, n3: x; held/);
  t.same(o.events, ['pending']);
  t.same(o.commands, [{ kind: 'schedule', why: 'released' }]);
  const free = gang('pending');
  const r = step(free, { type: 'release', by: 'admin' }, ctx);
  t.equal(r.refused, 'job train-1 is not held');
  t.equal(r.job, free);
});

t.test('every state meets the health events: only the cases above change a record', async (t) => {
  const events: LifecycleEvent[] = [unhealthy('n1'), prolog('n1', 0), { type: 'release', by: 'admin' }];
  const changes: Record<string, string[]> = {};
  for (const state of ['pending', 'placed', 'starting', 'running', 'succeeded', 'failed', 'cancelled', 'timeout', 'requeued'] as JobState[]) {
    for (const ev of events) {
      const job = state === 'pending' ? gang(state, { extra: { held: { reason: 'r', atMs: 1 } } }) : gang(state);
      const o = step(job, ev, ctx);
      if (o.job !== job) (changes[state] ??= []).push(`${ev.type}→${o.job.state}`);
    }
  }
  t.same(changes, {
    pending: ['release→pending'],
    placed: ['node-unhealthy→requeued', 'rank-reported→requeued'],
    starting: ['node-unhealthy→requeued', 'rank-reported→requeued'],
    running: ['node-unhealthy→requeued', 'rank-reported→requeued'],
  });
});
