/** /proc/<pid>/stat parsing (pure), on a captured line and on this process's own; start times. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { parseProcStat } from '../../../agent/runner/index.js';
import { processStartTicks } from '../../../agent/runner/procfs.js';

// A real line (Linux 6.1), for a process whose name holds a space and a parenthesis.
const LINE =
  '4242 (my (odd) name) S 4200 4242 4200 0 -1 4194560 1375 0 0 0 37 12 0 0 20 0 1 0 8301 10698752 1005 18446744073709551615 1 1 0 0 0 0 0 4096 65536 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n';

t.test('state, parent, group and CPU ticks, after a name with spaces and parentheses', async (t) => {
  t.same(parseProcStat(LINE), { state: 'S', ppid: 4200, pgrp: 4242, cpuTicks: 37 + 12, userTicks: 37, systemTicks: 12, startTicks: 8301 });
});

t.test('a truncated or foreign line is refused', async (t) => {
  t.equal(parseProcStat('4242 no parenthesis S 1 1'), undefined);
  t.equal(parseProcStat('4242 (x) S 4200 4242'), undefined, 'no CPU fields');
  t.equal(parseProcStat(LINE.split(' ').slice(0, 21).join(' ')), undefined, 'no start time');
  t.equal(parseProcStat('4242 (x)'), undefined);
});

t.test("this process's own line parses, with its parent", async (t) => {
  const st = parseProcStat(readFileSync('/proc/self/stat', 'utf8'));
  t.equal(st?.ppid, process.ppid);
  t.ok(Number.isInteger(st?.cpuTicks) && (st?.cpuTicks ?? -1) >= 0, 'CPU ticks are a count');
});

t.test('start ticks: the same for the same process, none for one that is gone', async (t) => {
  const mine = processStartTicks(process.pid);
  t.ok(Number.isInteger(mine), 'this process has a start time');
  t.equal(processStartTicks(process.pid), mine, 'and keeps it');
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  const pid = child.pid!;
  const started = processStartTicks(pid);
  t.ok(Number.isInteger(started) && started! >= mine!, 'a younger process starts later');
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(pid, 'SIGKILL');
  await exited;
  t.equal(processStartTicks(pid), undefined, 'an exited process has none');
  t.equal(processStartTicks(-1), undefined);
});
