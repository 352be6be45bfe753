/** describeEnding (agent/runner/ending.ts): how a finished rank ended, from its exit record, stop and usage. */
import t from 'tap';
import { describeEnding } from '../../../agent/runner/ending.js';
import type { ExitRecord } from '../../../agent/runner/records.js';

const exit = (over: Partial<ExitRecord>): ExitRecord => ({
  version: 1,
  failedToStart: false,
  code: null,
  signal: null,
  finishedMs: 1,
  message: 'killed by SIGKILL',
  writer: 'supervisor',
  ...over,
});
const usage = (oomKills: number | null) => ({ cpuUsec: 1, memoryPeakBytes: 2, oomKills });

t.test('an ordinary exit has no endedBy and keeps its message', async (t) => {
  t.same(describeEnding(exit({ code: 0, message: 'exited with code 0' }), false, usage(0)), { message: 'exited with code 0' });
  t.same(describeEnding(exit({ signal: 'SIGKILL' }), false, null), { message: 'killed by SIGKILL' }, 'SIGKILL without a measured OOM is not one');
  t.same(describeEnding(exit({ signal: 'SIGKILL' }), false, usage(null)), { message: 'killed by SIGKILL' });
});

t.test('timeout, oom, stopped, in that order', async (t) => {
  t.same(describeEnding(exit({ timedOut: true, signal: 'SIGKILL', message: 'timed out: x' }), true, usage(1)), { endedBy: 'timeout', message: 'timed out: x' });
  t.same(describeEnding(exit({ signal: 'SIGKILL' }), true, usage(2)), { endedBy: 'oom', message: 'out of memory: killed by SIGKILL' });
  t.same(describeEnding(exit({ signal: 'SIGTERM', message: 'stopped (x); killed by SIGTERM' }), true, usage(1)), { endedBy: 'stopped', message: 'stopped (x); killed by SIGTERM' }, 'an OOM count with another signal is no OOM death');
  t.same(describeEnding(exit({ message: 'stopped before the rank started: x' }), true, null), { endedBy: 'stopped', message: 'stopped before the rank started: x' });
});

t.test('a rank that never ran has no endedBy', async (t) => {
  t.same(describeEnding(exit({ failedToStart: true, message: 'cannot execute "x"' }), true, usage(3)), { message: 'cannot execute "x"' });
});
