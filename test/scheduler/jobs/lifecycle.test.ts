/**
 * The job lifecycle, case by case: every state and transition, without processes. About 570 lines,
 * over the usual 400, on purpose: one table per state of one state machine, read top to bottom.
 */
import t from 'tap';
import { step, submitted, type JobCommand, type LifecycleEvent, type Outcome, type RankReport } from '../../../scheduler/jobs/lifecycle.js';
import type { JobRecord, JobState, RankRecord, RequeueCause } from '../../../shared/domain/index.js';
import { parseJobSpec } from '../../../shared/jobspec/index.js';
import { jobRecord, jobYaml } from '../../builders/job.js';

const NOW = 50_000;
const ctx = { nowMs: NOW, requeueInitialMs: 1000, requeueMaxMs: 10_000 };

/** A gang of `n` one-GPU ranks, rank i on node n{i+1}, in `state` (ranks running unless given). */
function gang(state: JobState, opts: { n?: number; ranks?: RankRecord['state'][]; spec?: Record<string, unknown>; extra?: Partial<JobRecord> } = {}): JobRecord {
  const n = opts.n ?? 2;
  const on = state === 'pending' ? undefined : Array.from({ length: n }, (_, i) => ({ node: `n${i + 1}`, gpus: [i] }));
  const job = jobRecord('train-1', { gpusPerRank: 1, ranks: n, maxRetries: 2, ...opts.spec }, { on, state, epoch: on ? 3 : 0, ...opts.extra });
  // A rank given as exited exited 0.
  job.ranks.forEach((r, i) => {
    r.state = opts.ranks?.[i] ?? r.state;
    if (r.state === 'exited') r.exitCode = 0;
  });
  return job;
}

/** An inference service of `units` one-rank replicas, replica u on node n{u+1}, running. */
function service(units: number): JobRecord {
  const on = Array.from({ length: units }, (_, u) => ({ node: `n${u + 1}`, gpus: [0] }));
  const job = jobRecord('svc-1', { kind: 'Inference', ranks: 1, gpusPerRank: 1, replicas: { min: 1, max: 4 } }, { on, state: 'running', epoch: 3, replicasTarget: units });
  job.ranks.forEach((r, u) => (r.unit = u));
  return job;
}

const report = (rank: number, state: RankReport['state'], over: Partial<RankReport> = {}): RankReport => ({ rank, epoch: 3, state, exitCode: state === 'exited' ? 0 : null, signal: null, message: '', ...over });
const reported = (node: string, r: RankReport): LifecycleEvent => ({ type: 'rank-reported', node, report: r });
const kinds = (o: Outcome): string[] => o.commands.map((c) => c.kind);
const stops = (o: Outcome): Extract<JobCommand, { kind: 'stop' }> | undefined => o.commands.find((c): c is Extract<JobCommand, { kind: 'stop' }> => c.kind === 'stop');

t.test('submitted: a new job is pending, with the submitted event', async (t) => {
  const o = submitted('a-1', parseJobSpec(jobYaml({ name: 'a' })), 'alice', NOW);
  t.match(o.job, { id: 'a-1', owner: 'alice', state: 'pending', attempt: 0, epoch: 0, submittedMs: NOW, updatedMs: NOW, ranks: [] });
  t.same(o.events, ['submitted']);
  t.same(o.commands, []);
});

interface Case {
  name: string;
  job: JobRecord;
  event: LifecycleEvent;
  /** Fields of the new record. */
  want: Partial<Omit<JobRecord, 'ranks'>> & { ranks?: unknown };
  events: string[];
  commands: string[];
  /** The stop command's tasks (rank numbers), reason and preemptor. */
  stop?: { ranks: number[]; reason: string; forJob?: string };
  /** The record is the very same object (nothing to write). */
  same?: boolean;
}

const placedRanks = (): RankRecord[] => [
  { rank: 0, unit: 0, node: 'n1', gpus: [0], gpuUuids: ['u0'], topologyAddress: 'n1', state: 'starting', exitCode: null, signal: null, masterPort: 29500 },
  { rank: 1, unit: 0, node: 'n2', gpus: [0], gpuUuids: ['u1'], topologyAddress: 'n2', state: 'starting', exitCode: null, signal: null, masterPort: 29500 },
];
const preemptedCause: RequeueCause = { kind: 'preempted', by: 'big-7', priority: 100, queue: 'prod', lostWorkGpuMs: 7_200_000 };

const cases: Case[] = [
  // pending
  {
    name: 'pending, placed: placed under the next epoch; every rank started; the last cause cleared',
    job: gang('pending', { extra: { epoch: 1, cause: preemptedCause } }),
    event: { type: 'placed', ranks: placedRanks() },
    want: { state: 'placed', epoch: 2, masterPort: 29500, message: 'placed on 2 node(s)', cause: undefined, updatedMs: NOW, deadlineMs: undefined },
    events: ['placed'],
    commands: ['start'],
  },
  {
    name: "pending with a time limit, placed: the epoch's deadline is now + the limit (the start backfill planned with)",
    job: gang('pending', { spec: { timeLimit: '1m' }, extra: { epoch: 1 } }),
    event: { type: 'placed', ranks: placedRanks() },
    want: { state: 'placed', epoch: 2, deadlineMs: NOW + 60_000 },
    events: ['placed'],
    commands: ['start'],
  },
  {
    name: 'requeued after a time limit, placed again: a fresh deadline for the new epoch',
    job: gang('pending', { spec: { timeLimit: 30, onTimeLimit: 'requeue' }, extra: { epoch: 4, deadlineMs: 1000, cause: { kind: 'time-limit', rank: 0, node: 'n1', limitSeconds: 30 } } }),
    event: { type: 'placed', ranks: placedRanks() },
    want: { state: 'placed', epoch: 5, deadlineMs: NOW + 30_000, cause: undefined },
    events: ['placed'],
    commands: ['start'],
  },
  { name: 'running, placed: no change', job: gang('running'), event: { type: 'placed', ranks: placedRanks() }, want: { state: 'running' }, events: [], commands: [], same: true },
  {
    name: 'pending, unplaceable: failed with the message',
    job: gang('pending'),
    event: { type: 'unplaceable', message: 'no level "rack"' },
    want: { state: 'failed', message: 'no level "rack"', finishedMs: NOW },
    events: ['failed'],
    commands: [],
  },
  { name: 'running, unplaceable: no change', job: gang('running'), event: { type: 'unplaceable', message: 'x' }, want: {}, events: [], commands: [], same: true },
  // placed, starting
  {
    name: 'placed, a rank starting: starting, written behind (no event)',
    job: gang('placed', { ranks: ['starting', 'starting'] }),
    event: reported('n1', report(0, 'starting')),
    want: { state: 'starting', ranks: [{ state: 'starting' }, { state: 'starting' }] },
    events: [],
    commands: [],
  },
  {
    name: 'placed, a rank running, not the last: starting',
    job: gang('placed', { ranks: ['starting', 'starting'] }),
    event: reported('n2', report(1, 'running')),
    want: { state: 'starting', ranks: [{ state: 'starting' }, { state: 'running' }] },
    events: [],
    commands: [],
  },
  {
    name: 'starting, the last rank running: running',
    job: gang('starting', { ranks: ['running', 'starting'] }),
    event: reported('n2', report(1, 'running')),
    want: { state: 'running', message: 'all 2 ranks running', startedMs: NOW },
    events: ['running'],
    commands: [],
  },
  {
    name: 'placed, the one rank running: running at once',
    job: gang('placed', { n: 1, ranks: ['starting'] }),
    event: reported('n1', report(0, 'running')),
    want: { state: 'running', startedMs: NOW },
    events: ['running'],
    commands: [],
  },
  {
    name: 'starting, last rank running beside one that exited 0: running',
    job: gang('starting', { ranks: ['starting', 'exited'], extra: {} }),
    event: reported('n1', report(0, 'running')),
    want: { state: 'running' },
    events: ['running'],
    commands: [],
  },
  {
    name: 'running, a checkpoint reported: kept, written behind',
    job: gang('running'),
    event: reported('n1', report(0, 'running', { checkpointMs: 40_000 })),
    want: { state: 'running', lastCheckpointMs: 40_000 },
    events: [],
    commands: [],
  },
  { name: 'running, an exited rank reported running again: no change', job: gang('running', { ranks: ['exited', 'running'] }), event: reported('n1', report(0, 'running')), want: {}, events: [], commands: [], same: true },
  // fencing
  { name: 'running, a report of another epoch: fenced', job: gang('running'), event: reported('n1', report(0, 'running', { epoch: 2 })), want: { state: 'running' }, events: [], commands: ['fence'], same: true },
  { name: 'running, a report from another node: fenced', job: gang('running'), event: reported('n9', report(0, 'running')), want: {}, events: [], commands: ['fence'], same: true },
  { name: 'running, a report of an unknown rank: fenced', job: gang('running'), event: reported('n1', report(7, 'starting')), want: {}, events: [], commands: ['fence'], same: true },
  { name: 'succeeded, a rank running: fenced', job: gang('succeeded'), event: reported('n1', report(0, 'running')), want: {}, events: [], commands: ['fence'], same: true },
  { name: 'running, an exit of another epoch: ignored', job: gang('running'), event: reported('n1', report(0, 'exited', { epoch: 2, exitCode: 1 })), want: {}, events: [], commands: [], same: true },
  // rank exited
  {
    name: 'running, a rank exited 0, not the last: recorded, written behind',
    job: gang('running'),
    event: reported('n1', report(0, 'exited')),
    want: { state: 'running', ranks: [{ state: 'exited', exitCode: 0 }, { state: 'running' }] },
    events: [],
    commands: [],
  },
  {
    name: 'running, the last rank exited 0: succeeded; a cycle asked for',
    job: gang('running', { ranks: ['exited', 'running'] }),
    event: reported('n2', report(1, 'exited')),
    want: { state: 'succeeded', message: 'all 2 ranks exited 0', finishedMs: NOW },
    events: ['succeeded'],
    commands: ['schedule'],
  },
  {
    name: 'starting, every rank exited 0 before running was heard: succeeded, started now',
    job: gang('starting', { n: 1, ranks: ['starting'] }),
    event: reported('n1', report(0, 'exited')),
    want: { state: 'succeeded', startedMs: NOW },
    events: ['succeeded'],
    commands: ['schedule'],
  },
  {
    name: 'running, a rank exited non-zero, retries left: requeued with backoff, a retry spent; the gang stopped',
    job: gang('running'),
    event: reported('n2', report(1, 'exited', { exitCode: 3 })),
    want: {
      state: 'requeued',
      attempt: 1,
      requeueAtMs: NOW + 1000,
      message: 'rank 1 on n2 exited with code 3; requeued (retry 1 of 2)',
      cause: { kind: 'rank-exited', rank: 1, node: 'n2', exitCode: 3, signal: null },
      ranks: [{ state: 'running' }, { state: 'exited', exitCode: 3 }],
    },
    events: ['requeued'],
    commands: ['stop', 'schedule'],
    stop: { ranks: [0], reason: 'rank 1 on n2 exited with code 3' },
  },
  {
    name: 'running, a rank killed on its second retry: backoff doubles',
    job: gang('running', { extra: { attempt: 1 } }),
    event: reported('n1', report(0, 'exited', { exitCode: null, signal: 'SIGKILL' })),
    want: { state: 'requeued', attempt: 2, requeueAtMs: NOW + 2000, message: 'rank 0 on n1 was killed by SIGKILL; requeued (retry 2 of 2)' },
    events: ['requeued'],
    commands: ['stop', 'schedule'],
    stop: { ranks: [1], reason: 'rank 0 on n1 was killed by SIGKILL' },
  },
  {
    name: 'running, a rank failed, no retries left: failed with the cause',
    job: gang('running', { extra: { attempt: 2 } }),
    event: reported('n1', report(0, 'exited', { exitCode: 1 })),
    want: { state: 'failed', attempt: 2, finishedMs: NOW, message: 'rank 0 on n1 exited with code 1; no retries left (2)', cause: { kind: 'rank-exited', rank: 0, node: 'n1', exitCode: 1, signal: null } },
    events: ['failed'],
    commands: ['stop', 'schedule'],
  },
  {
    name: 'placed, a rank failed to start: requeued; the rank keeps why',
    job: gang('placed', { ranks: ['starting', 'starting'] }),
    event: reported('n1', report(0, 'failed-to-start', { message: 'no such user' })),
    want: {
      state: 'requeued',
      message: 'rank 0 on n1 failed to start: no such user; requeued (retry 1 of 2)',
      cause: { kind: 'rank-failed-to-start', rank: 0, node: 'n1', error: 'no such user' },
      ranks: [{ state: 'exited', exitCode: null, startError: 'no such user' }, { state: 'starting' }],
    },
    events: ['requeued'],
    commands: ['stop', 'schedule'],
  },
  // an agent refused the job's account: failed at once, no retry used
  {
    name: 'placed, a rank refused its account (run-as-refused): failed at once, no retry used; the cause names node and account',
    job: gang('placed', { ranks: ['starting', 'running'], spec: { runAs: 'alice' } }),
    event: reported('n1', report(0, 'failed-to-start', { message: 'runAs: "alice" is not one of the agent\'s allowed users (runner.allowedUsers: nobody)', refusal: 'run-as-refused' })),
    want: {
      state: 'failed',
      attempt: 0,
      finishedMs: NOW,
      message: 'node n1 refused to run rank 0 as "alice": runAs: "alice" is not one of the agent\'s allowed users (runner.allowedUsers: nobody); failed without a retry: it would meet the same refusal',
      cause: { kind: 'run-as-refused', rank: 0, node: 'n1', account: 'alice', error: 'runAs: "alice" is not one of the agent\'s allowed users (runner.allowedUsers: nobody)' },
      ranks: [{ state: 'exited', exitCode: null, startError: /not one of the agent's allowed users/ }, { state: 'running' }],
    },
    events: ['failed'],
    commands: ['stop', 'schedule'],
    stop: { ranks: [1], reason: 'node n1 refused to run rank 0 as "alice": runAs: "alice" is not one of the agent\'s allowed users (runner.allowedUsers: nobody)' },
  },
  {
    name: "starting, the agent's own account refused (empty runAs, the agent root without allowRoot): failed at once",
    job: gang('starting', { ranks: ['starting', 'starting'], extra: { attempt: 1 } }),
    event: reported('n2', report(1, 'failed-to-start', { message: 'runAs: is empty and the agent runs as root', refusal: 'run-as-refused' })),
    want: { state: 'failed', attempt: 1, message: "node n2 refused to run rank 1 as the agent's own account: runAs: is empty and the agent runs as root; failed without a retry: it would meet the same refusal", cause: { kind: 'run-as-refused', rank: 1, node: 'n2', account: '', error: 'runAs: is empty and the agent runs as root' } },
    events: ['failed'],
    commands: ['stop', 'schedule'],
    stop: { ranks: [0], reason: "node n2 refused to run rank 1 as the agent's own account: runAs: is empty and the agent runs as root" },
  },
  {
    name: 'a running service, a replica refused its account: the whole service fails (a replacement would meet the same agent)',
    job: service(3),
    event: reported('n2', report(1, 'failed-to-start', { message: 'runAs: no user "svc" on this node', refusal: 'run-as-refused' })),
    want: { state: 'failed', attempt: 0, cause: { kind: 'run-as-refused', rank: 1, node: 'n2', account: '', error: 'runAs: no user "svc" on this node' } },
    events: ['failed'],
    commands: ['stop', 'schedule'],
    stop: { ranks: [0, 2], reason: "node n2 refused to run rank 1 as the agent's own account: runAs: no user \"svc\" on this node" },
  },
  // time limit: the agent stopped a rank at the job's deadline
  {
    name: 'running, a rank stopped at the time limit: timeout (terminal), cause time-limit, no retry used; the others stopped; a cycle asked for',
    job: gang('running', { spec: { timeLimit: 120 } }),
    event: reported('n2', report(1, 'exited', { exitCode: null, signal: 'SIGTERM', endedBy: 'timeout', usage: { cpuUsec: 5_000_000, memoryPeakBytes: 1_048_576, oomKills: 0 } })),
    want: {
      state: 'timeout',
      attempt: 0,
      finishedMs: NOW,
      message: "rank 1 on n2 was stopped at the job's time limit (120 s); timed out (no retry used)",
      cause: { kind: 'time-limit', rank: 1, node: 'n2', limitSeconds: 120 },
      ranks: [{ state: 'running' }, { state: 'exited', signal: 'SIGTERM', endedBy: 'timeout', usage: { cpuUsec: 5_000_000, memoryPeakBytes: 1_048_576, oomKills: 0 } }],
    },
    events: ['timeout'],
    commands: ['stop', 'schedule'],
    stop: { ranks: [0], reason: 'time limit reached' },
  },
  {
    name: 'running, stopped at the time limit though it exited 0 on SIGTERM: still a timeout, retries untouched',
    job: gang('running', { spec: { timeLimit: 60 }, extra: { attempt: 2 } }),
    event: reported('n1', report(0, 'exited', { exitCode: 0, endedBy: 'timeout' })),
    want: { state: 'timeout', attempt: 2, cause: { kind: 'time-limit', rank: 0, node: 'n1', limitSeconds: 60 } },
    events: ['timeout'],
    commands: ['stop', 'schedule'],
    stop: { ranks: [1], reason: 'time limit reached' },
  },
  {
    name: 'running, a rank stopped at the time limit, onTimeLimit requeue: requeued at once like a preemption, no retry used; a cycle asked for',
    job: gang('running', { spec: { timeLimit: 60, onTimeLimit: 'requeue' }, extra: { attempt: 1 } }),
    event: reported('n1', report(0, 'exited', { exitCode: null, signal: 'SIGKILL', endedBy: 'timeout' })),
    want: { state: 'requeued', attempt: 1, requeueAtMs: NOW, finishedMs: 0, message: "rank 0 on n1 was stopped at the job's time limit (60 s); requeued (no retry used)", cause: { kind: 'time-limit', rank: 0, node: 'n1', limitSeconds: 60 } },
    events: ['requeued'],
    commands: ['stop', 'schedule'],
    stop: { ranks: [1], reason: 'time limit reached' },
  },
  {
    name: 'a running service, a replica stopped at the time limit: the whole service times out (not one replica replaced)',
    job: (() => {
      const j = service(3);
      j.spec = { ...j.spec, timeLimitSeconds: 30 };
      return j;
    })(),
    event: reported('n2', report(1, 'exited', { exitCode: null, signal: 'SIGTERM', endedBy: 'timeout' })),
    want: { state: 'timeout', cause: { kind: 'time-limit', rank: 1, node: 'n2', limitSeconds: 30 } },
    events: ['timeout'],
    commands: ['stop', 'schedule'],
    stop: { ranks: [0, 2], reason: 'time limit reached' },
  },
  {
    name: 'timeout, the exit of a rank it stopped: its exit and usage kept, written behind',
    job: gang('timeout', { spec: { timeLimit: 60 } }),
    event: reported('n1', report(0, 'exited', { exitCode: null, signal: 'SIGTERM', endedBy: 'stopped', usage: { cpuUsec: 7, memoryPeakBytes: null, oomKills: null } })),
    want: { state: 'timeout', updatedMs: NOW, ranks: [{ state: 'exited', signal: 'SIGTERM', endedBy: 'stopped', usage: { cpuUsec: 7, memoryPeakBytes: null, oomKills: null } }, { state: 'running' }] },
    events: [],
    commands: [],
  },
  { name: 'timeout, an exit of another epoch: ignored', job: gang('timeout'), event: reported('n1', report(0, 'exited', { epoch: 2, usage: { cpuUsec: 1, memoryPeakBytes: 1, oomKills: 0 } })), want: {}, events: [], commands: [], same: true },
  { name: 'failed, an exit from another node: ignored', job: gang('failed'), event: reported('n9', report(0, 'exited')), want: {}, events: [], commands: [], same: true },
  { name: 'cancelled, a second exit of a rank already exited: ignored', job: gang('cancelled', { ranks: ['exited', 'running'] }), event: reported('n1', report(0, 'exited', { exitCode: 1 })), want: {}, events: [], commands: [], same: true },
  // out of memory: an ordinary failure
  {
    name: 'running, a rank killed at its memory limit: requeued, a retry spent; the message says out of memory, which rank and node',
    job: gang('running', { spec: { resources: { memoryGiBPerRank: 4 } } }),
    event: reported('n2', report(1, 'exited', { exitCode: null, signal: 'SIGKILL', endedBy: 'oom', usage: { cpuUsec: 9, memoryPeakBytes: 4 * 1024 ** 3, oomKills: 1 } })),
    want: {
      state: 'requeued',
      attempt: 1,
      requeueAtMs: NOW + 1000,
      message: 'rank 1 on n2 ran out of memory (killed at its memory limit, SIGKILL); requeued (retry 1 of 2)',
      cause: { kind: 'out-of-memory', rank: 1, node: 'n2', exitCode: null, signal: 'SIGKILL' },
      ranks: [{ state: 'running' }, { state: 'exited', endedBy: 'oom', usage: { oomKills: 1, memoryPeakBytes: 4 * 1024 ** 3 } }],
    },
    events: ['requeued'],
    commands: ['stop', 'schedule'],
    stop: { ranks: [0], reason: 'rank 1 on n2 ran out of memory (killed at its memory limit, SIGKILL)' },
  },
  {
    name: 'running, out of memory with no retries left: failed, cause out-of-memory',
    job: gang('running', { extra: { attempt: 2 } }),
    event: reported('n1', report(0, 'exited', { exitCode: 137, endedBy: 'oom' })),
    want: { state: 'failed', finishedMs: NOW, message: 'rank 0 on n1 ran out of memory (killed at its memory limit, exit code 137); no retries left (2)', cause: { kind: 'out-of-memory', rank: 0, node: 'n1', exitCode: 137, signal: null } },
    events: ['failed'],
    commands: ['stop', 'schedule'],
  },
  {
    name: 'a running service, a replica out of memory: only it is replaced',
    job: service(2),
    event: reported('n1', report(0, 'exited', { exitCode: null, signal: 'SIGKILL', endedBy: 'oom' })),
    want: { state: 'running', attempt: 0, message: 'rank 0 on n1 ran out of memory (killed at its memory limit, SIGKILL); replacing replica 0 (1 of 2 replicas running)' },
    events: ['replica'],
    commands: ['stop', 'schedule'],
  },
  {
    name: 'running, a rank exited 0 with its usage: kept on the rank',
    job: gang('running'),
    event: reported('n1', report(0, 'exited', { usage: { cpuUsec: 12_000_000, memoryPeakBytes: 2_000_000, oomKills: 0 } })),
    want: { state: 'running', ranks: [{ state: 'exited', exitCode: 0, usage: { cpuUsec: 12_000_000, memoryPeakBytes: 2_000_000, oomKills: 0 } }, { state: 'running' }] },
    events: [],
    commands: [],
  },
  // rank gone, node lost
  {
    name: 'running, a rank gone after its agent reconnected: requeued',
    job: gang('running'),
    event: { type: 'rank-gone', rank: 1, node: 'n2' },
    want: { state: 'requeued', message: 'rank 1 on n2 is gone after the agent reconnected; requeued (retry 1 of 2)', cause: { kind: 'rank-gone', rank: 1, node: 'n2' } },
    events: ['requeued'],
    commands: ['stop', 'schedule'],
    stop: { ranks: [0, 1], reason: 'rank 1 on n2 is gone after the agent reconnected' },
  },
  { name: 'requeued, a rank gone: no change', job: gang('requeued'), event: { type: 'rank-gone', rank: 1, node: 'n2' }, want: {}, events: [], commands: [], same: true },
  {
    name: 'starting, its node lost: requeued',
    job: gang('starting'),
    event: { type: 'node-lost', node: 'n1' },
    want: { state: 'requeued', attempt: 1, message: 'node n1 was lost; requeued (retry 1 of 2)', cause: { kind: 'node-lost', node: 'n1' } },
    events: ['requeued'],
    commands: ['stop', 'schedule'],
    stop: { ranks: [0, 1], reason: 'node n1 was lost' },
  },
  { name: 'running, another node lost: no change', job: gang('running'), event: { type: 'node-lost', node: 'n9' }, want: {}, events: [], commands: [], same: true },
  { name: 'running, a node lost whose rank already exited: no change', job: gang('running', { ranks: ['exited', 'running'] }), event: { type: 'node-lost', node: 'n1' }, want: {}, events: [], commands: [], same: true },
  // preempted, drain deadline: no retry used
  {
    name: 'running, preempted: requeued at once, no retry used; stopped for the preemptor; no cycle asked for',
    job: gang('running'),
    event: { type: 'preempted', by: { id: 'big-7', priority: 100, queue: 'prod' }, lostWorkGpuMs: 7_200_000 },
    want: { state: 'requeued', attempt: 0, requeueAtMs: NOW, message: 'preempted by big-7 (priority 100, queue prod); 2.00 GPU-hours since its start or last checkpoint lost', cause: preemptedCause },
    events: ['requeued'],
    commands: ['stop'],
    stop: { ranks: [0, 1], reason: 'preempted by big-7', forJob: 'big-7' },
  },
  {
    name: 'running, a drain deadline passed: requeued at once, no retry used',
    job: gang('running', { extra: { attempt: 2 } }),
    event: { type: 'drain-deadline', node: 'n2' },
    want: { state: 'requeued', attempt: 2, requeueAtMs: NOW, message: 'node n2 was drained: its deadline passed; requeued (no retry used)', cause: { kind: 'drain-deadline', node: 'n2' } },
    events: ['requeued'],
    commands: ['stop'],
    stop: { ranks: [0, 1], reason: 'node n2 drained' },
  },
  { name: 'pending, preempted: no change', job: gang('pending'), event: { type: 'preempted', by: { id: 'x-1', priority: 1, queue: 'q' }, lostWorkGpuMs: 0 }, want: {}, events: [], commands: [], same: true },
  { name: 'requeued, a drain deadline: no change', job: gang('requeued'), event: { type: 'drain-deadline', node: 'n1' }, want: {}, events: [], commands: [], same: true },
  // requeued
  {
    name: 'requeued after a failure, backoff over: pending, which retry',
    job: gang('requeued', { extra: { attempt: 1, requeueAtMs: NOW, cause: { kind: 'node-lost', node: 'n1' }, message: 'node n1 was lost; requeued (retry 1 of 2)' } }),
    event: { type: 'backoff-over' },
    want: { state: 'pending', message: 'retry 1 of 2' },
    events: ['pending'],
    commands: [],
  },
  {
    name: 'requeued after preemption, backoff over: pending, still saying why it left',
    job: gang('requeued', { extra: { requeueAtMs: NOW, cause: preemptedCause, message: 'preempted by big-7 (...)' } }),
    event: { type: 'backoff-over' },
    want: { state: 'pending', message: 'preempted by big-7 (...)', cause: preemptedCause },
    events: ['pending'],
    commands: [],
  },
  { name: 'requeued, backoff not over: no change', job: gang('requeued', { extra: { requeueAtMs: NOW + 1 } }), event: { type: 'backoff-over' }, want: {}, events: [], commands: [], same: true },
  { name: 'pending, backoff over: no change', job: gang('pending'), event: { type: 'backoff-over' }, want: {}, events: [], commands: [], same: true },
  // cancelled
  { name: 'pending, cancel: cancelled; nothing to stop, no cycle', job: gang('pending'), event: { type: 'cancel', reason: '' }, want: { state: 'cancelled', message: 'cancelled by request', finishedMs: NOW }, events: ['cancelled'], commands: ['stop'], stop: { ranks: [], reason: 'cancelled' } },
  {
    name: 'running, cancel: cancelled; the gang stopped; a cycle asked for',
    job: gang('running', { ranks: ['running', 'exited'] }),
    event: { type: 'cancel', reason: 'not needed' },
    want: { state: 'cancelled', message: 'not needed' },
    events: ['cancelled'],
    commands: ['stop', 'schedule'],
    stop: { ranks: [0], reason: 'cancelled' },
  },
  {
    name: 'requeued, cancel: cancelled; the last run stopped again (its ranks may still run)',
    job: gang('requeued'),
    event: { type: 'cancel', reason: 'x' },
    want: { state: 'cancelled' },
    events: ['cancelled'],
    commands: ['stop'],
    stop: { ranks: [0, 1], reason: 'cancelled' },
  },
  // an inference service keeps its other replicas
  {
    name: 'a running service, one replica fails: only it is stopped and replaced',
    job: service(3),
    event: reported('n2', report(1, 'exited', { exitCode: 137 })),
    want: { state: 'running', attempt: 0, message: 'rank 1 on n2 exited with code 137; replacing replica 1 (2 of 3 replicas running)', ranks: [{ rank: 0, epoch: 3 }, { rank: 2, epoch: 3 }] },
    events: ['replica'],
    commands: ['stop', 'schedule'],
    stop: { ranks: [], reason: 'replica 1 is being replaced' },
  },
  {
    name: "a running service, a replica's node lost: that replica replaced",
    job: service(2),
    event: { type: 'node-lost', node: 'n1' },
    want: { state: 'running', message: 'node n1 was lost; replacing replica 0 (1 of 2 replicas running)', ranks: [{ rank: 1, unit: 1 }] },
    events: ['replica'],
    commands: ['stop', 'schedule'],
    stop: { ranks: [0], reason: 'replica 0 is being replaced' },
  },
  {
    name: 'a running service, its only replica lost: requeued like a gang',
    job: service(1),
    event: { type: 'node-lost', node: 'n1' },
    want: { state: 'requeued', ranks: [{ rank: 0 }] },
    events: ['requeued'],
    commands: ['stop', 'schedule'],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const before = structuredClone(c.job);
    const o = step(c.job, c.event, ctx);
    t.same(c.job, before, 'the input record is not changed');
    t.equal(o.refused, undefined);
    const { ranks, ...fields } = c.want;
    t.match(o.job, fields, 'the new record');
    for (const [k, v] of Object.entries(fields)) if (v === undefined) t.notOk(k in o.job && (o.job as unknown as Record<string, unknown>)[k] !== undefined, `${k} unset`);
    if (ranks) t.match(o.job.ranks, ranks, 'its ranks');
    if (ranks && Array.isArray(ranks)) t.equal(o.job.ranks.length, ranks.length, 'as many ranks');
    t.same(o.events, c.events, 'events');
    t.same(kinds(o), c.commands, 'commands');
    if (c.same !== undefined) t.equal(o.job === c.job, c.same, c.same ? 'the same record: nothing to write' : 'a new record');
    else t.not(o.job, c.job, 'a new record');
    if (c.stop) {
      const s = stops(o)!;
      t.same(s.tasks.map((x) => x.rank), c.stop.ranks, 'the ranks stopped');
      t.equal(s.reason, c.stop.reason, 'the stop reason');
      t.equal(s.forJob, c.stop.forJob ?? '', 'the preemptor');
      t.equal(s.graceSeconds, c.job.spec.preemptGraceSeconds);
    }
  });
}

t.test('a stop names each rank as placed: node, GPUs, the epoch its task runs under', async (t) => {
  const job = service(2);
  job.ranks[1]!.epoch = 5;
  const o = step(job, { type: 'cancel', reason: '' }, ctx);
  t.same(stops(o)!.tasks, [
    { rank: 0, node: 'n1', epoch: 3, gpus: [0] },
    { rank: 1, node: 'n2', epoch: 5, gpus: [0] },
  ]);
});

t.test('the start command carries the placed ranks (with when they were placed); the fence names the reported task', async (t) => {
  const placed = step(gang('pending'), { type: 'placed', ranks: placedRanks() }, ctx);
  t.same(placed.commands[0], { kind: 'start', ranks: placedRanks().map((r) => ({ ...r, placedMs: ctx.nowMs })) });
  const fenced = step(gang('running'), reported('n1', report(0, 'running', { epoch: 2 })), ctx);
  t.same(fenced.commands, [{ kind: 'fence', jobId: 'train-1', node: 'n1', rank: 0, epoch: 2, graceSeconds: 30 }]);
});

t.test('placed: an inference service gets its replica target from its placements', async (t) => {
  const job = jobRecord('svc-2', { kind: 'Inference', ranks: 1, gpusPerRank: 1, replicas: { min: 1, max: 4 } });
  t.equal(step(job, { type: 'placed', ranks: placedRanks(), replicas: 2 }, ctx).job.replicasTarget, 2);
  t.equal(step(gang('pending'), { type: 'placed', ranks: placedRanks(), replicas: 2 }, ctx).job.replicasTarget, undefined, 'a gang has none');
});

t.test('cancel of a finished job is refused; the record is unchanged', async (t) => {
  for (const state of ['succeeded', 'failed', 'cancelled', 'timeout'] as const) {
    const job = gang(state);
    const o = step(job, { type: 'cancel', reason: '' }, ctx);
    t.equal(o.refused, `job train-1 is already ${state}`);
    t.equal(o.job, job);
    t.same([o.commands, o.events], [[], []]);
  }
});

t.test('every state meets every event: only the table above changes a record', async (t) => {
  const events: LifecycleEvent[] = [
    { type: 'placed', ranks: placedRanks() },
    reported('n1', report(0, 'running')),
    reported('n1', report(0, 'failed-to-start', { message: 'm', refusal: 'run-as-refused' })),
    reported('n1', report(0, 'exited', { exitCode: null, signal: 'SIGTERM', endedBy: 'timeout' })),
    reported('n1', report(0, 'exited', { exitCode: null, signal: 'SIGKILL', endedBy: 'oom' })),
    { type: 'rank-gone', rank: 0, node: 'n1' },
    { type: 'node-lost', node: 'n1' },
    { type: 'preempted', by: { id: 'x-1', priority: 1, queue: 'q' }, lostWorkGpuMs: 0 },
    { type: 'drain-deadline', node: 'n1' },
    { type: 'backoff-over' },
    { type: 'unplaceable', message: 'm' },
    { type: 'cancel', reason: '' },
    { type: 'fault', fault: { xid: 13, rank: 0, epoch: 3, node: 'n1', gpu: 0, pid: 42, processName: 'p', atMs: NOW, evidence: 'e' } },
  ];
  const changes: Record<string, string[]> = {};
  for (const state of ['pending', 'placed', 'starting', 'running', 'succeeded', 'failed', 'cancelled', 'timeout', 'requeued'] as JobState[]) {
    for (const ev of events) {
      const job = gang(state, { extra: { requeueAtMs: NOW } });
      const o = step(job, ev, ctx);
      if (o.job !== job) (changes[state] ??= []).push(`${ev.type}→${o.job.state}`);
    }
  }
  t.same(changes, {
    pending: ['placed→placed', 'unplaceable→failed', 'cancel→cancelled'],
    // (The builder's ranks all run: the report is the last one heard, so the gang runs.)
    // (Then: failed to start (refused), stopped at the time limit, killed at the memory limit.)
    placed: ['rank-reported→running', 'rank-reported→failed', 'rank-reported→timeout', 'rank-reported→requeued', 'rank-gone→requeued', 'node-lost→requeued', 'preempted→requeued', 'drain-deadline→requeued', 'cancel→cancelled', 'fault→requeued'],
    starting: ['rank-reported→running', 'rank-reported→failed', 'rank-reported→timeout', 'rank-reported→requeued', 'rank-gone→requeued', 'node-lost→requeued', 'preempted→requeued', 'drain-deadline→requeued', 'cancel→cancelled', 'fault→requeued'],
    running: ['rank-reported→running', 'rank-reported→failed', 'rank-reported→timeout', 'rank-reported→requeued', 'rank-gone→requeued', 'node-lost→requeued', 'preempted→requeued', 'drain-deadline→requeued', 'cancel→cancelled', 'fault→requeued'],
    // A run that ended keeps the late exits of its ranks (how they ended, their usage) and records faults (lifecycle-faults.test.ts); nothing else.
    succeeded: ['rank-reported→succeeded', 'rank-reported→succeeded', 'fault→succeeded'],
    failed: ['rank-reported→failed', 'rank-reported→failed', 'fault→failed'],
    cancelled: ['rank-reported→cancelled', 'rank-reported→cancelled', 'fault→cancelled'],
    timeout: ['rank-reported→timeout', 'rank-reported→timeout', 'fault→timeout'],
    requeued: ['rank-reported→requeued', 'rank-reported→requeued', 'backoff-over→pending', 'cancel→cancelled', 'fault→requeued'],
  });
});
