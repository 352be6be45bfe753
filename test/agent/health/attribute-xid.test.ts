/**
 * The attribution of an application XID to a rank (agent/health/attribute-xid.ts), as a table: the
 * rank's cgroup, its process group or session, the pid of a rank that is gone, a rank being
 * stopped (ignored within the window), and no rank at all.
 */
import t from 'tap';
import { attributeXid, rankOfCgroupPath, STOP_CLOCK_SLACK_MS, type AttributeXidInput, type KnownRank } from '../../../agent/health/attribute-xid.js';

const NOW = 1_800_000_000_000;
const WINDOW = 30_000;

const train0: KnownRank = { jobId: 'train-7', rank: 0, epoch: 2, pid: 5000 };
const train1: KnownRank = { jobId: 'train-7', rank: 1, epoch: 2, pid: 5100 };
/** An earlier epoch of rank 1 whose pid the kernel since gave to nobody else. */
const train1Old: KnownRank = { jobId: 'train-7', rank: 1, epoch: 1, pid: 4000, endedMs: NOW - 120_000 };
const stopping: KnownRank = { jobId: 'eval.v2-3', rank: 0, epoch: 1, pid: 6000, stopMs: NOW - 5_000 };
const stoppedLongAgo: KnownRank = { jobId: 'eval.v2-3', rank: 1, epoch: 1, pid: 6100, stopMs: NOW - 60_000 };
const deadlineAhead: KnownRank = { jobId: 'lim-1', rank: 0, epoch: 1, pid: 7000, stopMs: NOW + 60_000 };
const ranks = [train0, train1, train1Old, stopping, stoppedLongAgo, deadlineAhead];

/** /proc/<pid>/cgroup of a process in a rank leaf (v2 and a v1 memory hierarchy), under the agent's unit. */
const rankCgroups = (task: string): string[] => [`/system.slice/gantry-agent.service/${task}/rank`, `/system.slice/gantry-agent.service/${task}/rank`];

interface Case {
  name: string;
  input: Omit<AttributeXidInput, 'ranks' | 'nowMs' | 'ignoreAfterStopMs'>;
  want: { result: string; rank?: KnownRank; by?: string; reason?: string };
}

const cases: Case[] = [
  {
    name: "cgroup: a process in rank 1's leaf (in a process group of its own) is rank 1's",
    input: { pid: 5123, blamed: { cgroupPaths: rankCgroups('train-7.1.2'), pgid: 5123, sid: 5123 } },
    want: { result: 'attributed', rank: train1, by: 'cgroup' },
  },
  {
    name: 'cgroup: a sub-cgroup the rank made below its leaf still names it',
    input: { pid: 5124, blamed: { cgroupPaths: ['/gantry-test/x/train-7.0.2/rank/worker'], pgid: 1, sid: 1 } },
    want: { result: 'attributed', rank: train0, by: 'cgroup' },
  },
  {
    name: "cgroup: the supervisor leaf is not the rank's (the supervisor uses no GPU); its group decides",
    input: { pid: 5099, blamed: { cgroupPaths: ['/x/train-7.1.2/supervisor'], pgid: 4999, sid: 4999 } },
    want: { result: 'unattributed', reason: 'no-rank' },
  },
  {
    name: 'process group: no rank cgroup (containment off), the pgid is rank 0',
    input: { pid: 5007, blamed: { cgroupPaths: ['/user.slice/user-1000.slice/session-3.scope'], pgid: 5000, sid: 5000 } },
    want: { result: 'attributed', rank: train0, by: 'process-group' },
  },
  {
    name: 'session: a child that made its own group stays in the rank session',
    input: { pid: 5150, blamed: { cgroupPaths: [], pgid: 5150, sid: 5100 } },
    want: { result: 'attributed', rank: train1, by: 'session' },
  },
  {
    name: 'pid: the process is gone, the pid was a rank',
    input: { pid: 5100, blamed: null },
    want: { result: 'attributed', rank: train1, by: 'pid' },
  },
  {
    name: 'recently ended: the pid of an earlier epoch that ended 2 min ago',
    input: { pid: 4000, blamed: null },
    want: { result: 'attributed', rank: train1Old, by: 'pid' },
  },
  {
    name: 'stopping: Gantry asked the rank to stop 5 s ago: ignored (XID 45 follows every kill)',
    input: { pid: 6000, blamed: null },
    want: { result: 'ignored-stopping', rank: stopping, by: 'pid' },
  },
  {
    name: 'stopping, found by its cgroup: ignored as well',
    input: { pid: 6001, blamed: { cgroupPaths: ['/g/eval.v2-3.0.1/rank'], pgid: 6001, sid: 6001 } },
    want: { result: 'ignored-stopping', rank: stopping, by: 'cgroup' },
  },
  {
    name: 'stopped beyond the window (60 s ago, still running): attributed',
    input: { pid: 6100, blamed: null },
    want: { result: 'attributed', rank: stoppedLongAgo, by: 'pid' },
  },
  {
    name: 'a time limit still ahead is no stop yet: attributed',
    input: { pid: 7000, blamed: { cgroupPaths: [], pgid: 7000, sid: 7000 } },
    want: { result: 'attributed', rank: deadlineAhead, by: 'process-group' },
  },
  {
    name: 'unknown: a process of no rank (nvidia-smi run by someone) is not attributed',
    input: { pid: 31337, blamed: { cgroupPaths: ['/user.slice'], pgid: 31000, sid: 30000 } },
    want: { result: 'unattributed', reason: 'no-rank' },
  },
  {
    name: "unknown: a rank cgroup of a task this agent does not know (another agent's tree)",
    input: { pid: 8000, blamed: { cgroupPaths: ['/other/train-9.0.1/rank'], pgid: 8000, sid: 8000 } },
    want: { result: 'unattributed', reason: 'no-rank' },
  },
  {
    name: "no pid: the driver named none (pid='<unknown>')",
    input: { pid: undefined, blamed: null },
    want: { result: 'unattributed', reason: 'no-pid' },
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const a = attributeXid({ ...c.input, ranks, nowMs: NOW, ignoreAfterStopMs: WINDOW });
    t.match(a, c.want);
    if (c.want.rank) t.same((a as { rank: KnownRank }).rank, c.want.rank, 'that rank exactly');
  });
}

t.test('pid reuse: of two ranks with the pid, the running one, else the one that ended last', async (t) => {
  const a: KnownRank = { jobId: 'a-1', rank: 0, epoch: 1, pid: 900, endedMs: NOW - 50_000 };
  const b: KnownRank = { jobId: 'b-1', rank: 0, epoch: 1, pid: 900, endedMs: NOW - 10_000 };
  const c: KnownRank = { jobId: 'c-1', rank: 0, epoch: 1, pid: 900 };
  const at = (rs: KnownRank[]) => attributeXid({ pid: 900, blamed: null, ranks: rs, nowMs: NOW, ignoreAfterStopMs: WINDOW });
  t.match(at([a, b]), { rank: b });
  t.match(at([b, a]), { rank: b });
  t.match(at([a, c, b]), { rank: c });
});

t.test('the window: at its end still ignored, a millisecond later attributed; 0 turns it off', async (t) => {
  const r: KnownRank = { jobId: 'w-1', rank: 0, epoch: 1, pid: 1234, stopMs: NOW - WINDOW };
  t.equal(attributeXid({ pid: 1234, blamed: null, ranks: [r], nowMs: NOW, ignoreAfterStopMs: WINDOW }).result, 'ignored-stopping');
  t.equal(attributeXid({ pid: 1234, blamed: null, ranks: [r], nowMs: NOW + 1, ignoreAfterStopMs: WINDOW }).result, 'attributed');
  t.equal(attributeXid({ pid: 1234, blamed: null, ranks: [{ ...r, stopMs: NOW - 1 }], nowMs: NOW, ignoreAfterStopMs: 0 }).result, 'attributed');
});

t.test('an XID that happened before the stop (read after it) is the rank\'s; the clock slack', async (t) => {
  const r: KnownRank = { jobId: 's-1', rank: 0, epoch: 1, pid: 1500, stopMs: NOW };
  const at = (ms: number) => attributeXid({ pid: 1500, blamed: null, ranks: [r], nowMs: ms, ignoreAfterStopMs: WINDOW }).result;
  t.equal(at(NOW - 2000), 'attributed', '2 s before the stop: its own fault');
  t.equal(at(NOW - STOP_CLOCK_SLACK_MS), 'ignored-stopping', 'within the clock slack: taken as after the stop');
  t.equal(at(NOW + 10), 'ignored-stopping');
});

t.test('rankOfCgroupPath: the task name before a rank leaf; job ids with dots', async (t) => {
  t.same(rankOfCgroupPath('/a/b/job.with.dots-4.12.7/rank'), { jobId: 'job.with.dots-4', rank: 12, epoch: 7 });
  t.same(rankOfCgroupPath('/job-1.0.1/rank/sub/deeper'), { jobId: 'job-1', rank: 0, epoch: 1 });
  t.equal(rankOfCgroupPath('/job-1.0.1/supervisor'), null);
  t.equal(rankOfCgroupPath('/rank'), null);
  t.equal(rankOfCgroupPath('/'), null);
  t.equal(rankOfCgroupPath('/not-a-task/rank'), null);
});
