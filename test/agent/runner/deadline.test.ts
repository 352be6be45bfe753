/**
 * Time limits on the node (spec.json `deadlineMs`), with both supervisors: at the deadline the
 * supervisor stops the rank as if told to (SIGTERM, SIGKILL after the grace) and exit.json says
 * timedOut; the runner reports endedBy 'timeout'. A deadline already past never runs the rank.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { processAlive } from '../../../agent/runner/procfs.js';
import { cgroupsMissing, testContainment } from './containment-helpers.js';
import { finished, needs, readWholeLog, setup, spec, waitForLog, waitForStatus } from './helpers.js';

const KINDS = ['native', 'node'] as const;

function exitRecord(stateDir: string, s: { jobId: string; rank: number; epoch: number }): Record<string, unknown> {
  const file = path.join(stateDir, 'tasks', s.jobId, String(s.rank), String(s.epoch), 'exit.json');
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

for (const kind of KINDS) {
  t.test(`${kind}: a rank running past its deadline is stopped and ends with endedBy timeout`, needs(kind), async (t) => {
    const { runner, stateDir } = setup(t, { supervisor: kind });
    const deadlineMs = Date.now() + 2000; // room for a cold Node supervisor to boot on a loaded machine
    const s = spec({ command: ['sleep', '60'], deadlineMs, graceSeconds: 3 });
    await runner.start(s);
    const end = await waitForStatus(runner, s, finished);
    t.equal(end.state, 'exited');
    t.equal(end.endedBy, 'timeout');
    t.equal(end.signal, 'SIGTERM', 'stopped with SIGTERM first');
    t.match(end.message, `timed out: the job's time limit was reached at ${new Date(deadlineMs).toISOString()}; killed by SIGTERM`);
    t.ok(end.finishedMs >= deadlineMs, 'not before the deadline');
    t.ok(end.finishedMs - deadlineMs < 3000, 'within the grace after it');
    t.equal(exitRecord(stateDir, s).timedOut, true, 'exit.json says timedOut');
    t.notOk(processAlive(end.pid!), 'the rank is gone');
  });

  t.test(`${kind}: a rank that ignores SIGTERM at its deadline is SIGKILLed after the spec's grace`, needs(kind), async (t) => {
    const { runner } = setup(t, { supervisor: kind });
    const deadlineMs = Date.now() + 2000;
    const s = spec({ command: ['bash', '-c', 'trap "echo got-term" TERM; echo ready; while true; do sleep 0.05; done'], deadlineMs, graceSeconds: 1 });
    await runner.start(s);
    await waitForLog(runner, s, /ready/);
    const end = await waitForStatus(runner, s, finished);
    t.equal(end.endedBy, 'timeout');
    t.equal(end.signal, 'SIGKILL', 'killed after the grace');
    t.ok(end.finishedMs - deadlineMs >= 900, 'the grace was given');
    t.match(await readWholeLog(runner, s), /got-term/, 'it got the SIGTERM first');
  });

  t.test(`${kind}: a deadline already past: the rank never runs, the task ends timed out`, needs(kind), async (t) => {
    const { runner, workdir, stateDir } = setup(t, { supervisor: kind });
    const marker = path.join(workdir, 'ran');
    const deadlineMs = Date.now() - 1000;
    const s = spec({ command: ['touch', marker], deadlineMs });
    await runner.start(s);
    const end = await waitForStatus(runner, s, finished);
    t.equal(end.state, 'exited', 'exited, not failed-to-start');
    t.equal(end.endedBy, 'timeout');
    t.equal(end.pid, null, 'no rank process');
    t.match(end.message, /^timed out: the job's time limit was reached at .*, before the rank started$/);
    t.equal(exitRecord(stateDir, s).timedOut, true);
    t.notOk(existsSync(marker), 'the command never ran');
  });

  const noCgroups = cgroupsMissing();
  t.test(`${kind}: a contained rank's daemon dies with it at the deadline`, noCgroups ? { skip: noCgroups } : needs(kind), async (t) => {
    const tc = testContainment(t);
    const { runner } = setup(t, { supervisor: kind, containment: tc.containment });
    const s = spec({
      command: ['bash', '-c', 'setsid sleep 1000 & d=$!; while [ "$(cut -d" " -f6 /proc/$d/stat)" != "$d" ]; do sleep 0.01; done; echo "daemon=$d"; exec sleep 60'],
      deadlineMs: Date.now() + 2000,
      graceSeconds: 1,
    });
    await runner.start(s);
    const daemon = Number((await waitForLog(runner, s, /daemon=(\d+)/))[1]);
    t.teardown(() => {
      try {
        process.kill(daemon, 'SIGKILL');
      } catch {
        // gone
      }
    });
    const end = await waitForStatus(runner, s, finished);
    t.equal(end.endedBy, 'timeout');
    t.notOk(processAlive(daemon), 'the daemon is gone');
    t.same(tc.pidsIn(tc.leaves(s).rank), [], 'the rank leaf is empty');
  });
}
