/**
 * Ranks in cgroups (spec.json `cgroup`), with both supervisors, on the real kernel: the supervisor
 * sits in its own leaf and the rank in the rank leaf; a `setsid` daemon the rank starts does not
 * survive its stop (it does without containment: today's documented gap); an adopting runner can
 * still stop a contained rank; a prepare that throws, or a rank leaf that cannot be joined, means
 * the rank never runs; usage and endedBy come with the exit.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { processAlive } from '../../../agent/runner/procfs.js';
import { cgroupsMissing, testContainment, type TestContainment, type TestContainmentOptions } from './containment-helpers.js';
import type { TaskKey, TaskStatus } from '../../../agent/runner/index.js';
import { finished, keyOf, needs, newRunner, setup, spec, waitFor, waitForLog, waitForStatus } from './helpers.js';

const noCgroups = cgroupsMissing();
const KINDS = ['native', 'node'] as const;

function opts(kind: (typeof KINDS)[number]): { skip?: string } {
  return noCgroups !== undefined ? { skip: noCgroups } : needs(kind);
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/**
 * A rank that starts a daemon in its own session, says its pid once the daemon has left the rank's
 * session (the stop must not catch it still in the group), and waits.
 */
const NEW_SESSION = 'setsid sleep 1000 & d=$!; while [ "$(cut -d" " -f6 /proc/$d/stat)" != "$d" ]; do sleep 0.01; done; echo "daemon=$d"';
const DAEMON = ['bash', '-c', `${NEW_SESSION}; exec sleep 300`];
/** The same, exiting at once (the daemon is a leftover). */
const DAEMON_AND_EXIT = ['bash', '-c', NEW_SESSION];

function supervisorPid(stateDir: string, key: { jobId: string; rank: number; epoch: number }): number {
  const dir = path.join(stateDir, 'tasks', key.jobId, String(key.rank), String(key.epoch));
  return (JSON.parse(readFileSync(path.join(dir, 'status.json'), 'utf8')) as { supervisorPid: number }).supervisorPid;
}

/** Runs `touch <marker>` under a test containment made with `o`: how the task ended, and whether the command ran. */
async function touchUnder(t: Test, kind: (typeof KINDS)[number], o: TestContainmentOptions): Promise<{ end: TaskStatus; ran: boolean; tc: TestContainment; key: TaskKey }> {
  const tc = testContainment(t, o);
  const { runner, workdir } = setup(t, { supervisor: kind, containment: tc.containment });
  const marker = path.join(workdir, 'ran');
  const s = spec({ command: ['touch', marker] });
  await runner.start(s);
  const end = await waitForStatus(runner, s, finished);
  return { end, ran: existsSync(marker), tc, key: s };
}

for (const kind of KINDS) {
  t.test(`${kind}: a setsid daemon survives a stop without containment, and not with it`, opts(kind), async (t) => {
    // Without containment: the gap that containment closes.
    const bare = setup(t, { supervisor: kind });
    const s0 = spec({ command: DAEMON });
    await bare.runner.start(s0);
    const d0 = Number((await waitForLog(bare.runner, s0, /daemon=(\d+)/))[1]);
    t.teardown(() => killPid(d0));
    await bare.runner.stop(keyOf(s0), 2, 'test stop');
    t.ok(processAlive(d0), 'uncontained: the daemon outlives its rank');
    killPid(d0);

    const tc = testContainment(t);
    const { runner } = setup(t, { supervisor: kind, containment: tc.containment });
    const s = spec({ command: DAEMON });
    await runner.start(s);
    const daemon = Number((await waitForLog(runner, s, /daemon=(\d+)/))[1]);
    t.teardown(() => killPid(daemon));
    t.ok(tc.pidsIn(tc.leaves(s).rank).includes(daemon), 'the daemon is in the rank leaf');
    await runner.stop(keyOf(s), 2, 'test stop');
    const end = runner.get(s)!;
    t.equal(end.state, 'exited');
    t.equal(end.endedBy, 'stopped', 'endedBy: stopped');
    t.ok(end.usage, 'usage is reported with the exit');
    t.equal(typeof end.usage?.cpuUsec, 'number', 'CPU time measured');
    t.notOk(processAlive(daemon), 'contained: the daemon is gone after the stop');
    t.same(tc.pidsIn(tc.leaves(s).rank), [], "the rank leaf's cgroup.procs is empty");

    // A rank that exits by itself: its daemon is a leftover, killed before exit.json.
    const s2 = spec({ command: DAEMON_AND_EXIT });
    await runner.start(s2);
    const d2 = Number((await waitForLog(runner, s2, /daemon=(\d+)/))[1]);
    t.teardown(() => killPid(d2));
    const end2 = await waitForStatus(runner, s2, finished);
    t.equal(end2.exitCode, 0, 'the rank exited by itself');
    t.equal(end2.endedBy, undefined, 'no endedBy for an ordinary exit');
    t.notOk(processAlive(d2), 'its daemon was killed with the leftovers');
    t.same(tc.pidsIn(tc.leaves(s2).rank), [], 'the rank leaf is empty when the exit is recorded');
  });

  t.test(`${kind}: without a killFile, every pid the rank leaf lists is SIGKILLed`, opts(kind), async (t) => {
    const tc = testContainment(t, { noKillFile: true });
    const { runner } = setup(t, { supervisor: kind, containment: tc.containment });
    // The daemon ignores SIGTERM, so only the kill at the end of the grace can take it.
    const s = spec({ command: ['bash', '-c', `trap "" TERM; ${NEW_SESSION}; exec sleep 300`] });
    await runner.start(s);
    const daemon = Number((await waitForLog(runner, s, /daemon=(\d+)/))[1]);
    t.teardown(() => killPid(daemon));
    await runner.stop(keyOf(s), 1, 'test stop');
    t.notOk(processAlive(daemon), 'the daemon is gone');
    t.same(tc.pidsIn(tc.leaves(s).rank), [], 'the rank leaf is empty');
    t.equal(tc.calls.kill, 0, "the supervisor did it: the runner's last-resort kill was not needed");
  });

  t.test(`${kind}: the supervisor is in the supervisor leaf, the rank in the rank leaf`, opts(kind), async (t) => {
    const tc = testContainment(t);
    // The supervisor's own user (no switch): the native one must still fork, not posix_spawn.
    const { runner, stateDir } = setup(t, { supervisor: kind, containment: tc.containment, allowRoot: true });
    const s = spec({ command: ['bash', '-c', 'sleep 300 & echo "child=$!"; wait'], runAs: '' });
    await runner.start(s);
    const child = Number((await waitForLog(runner, s, /child=(\d+)/))[1]);
    const st = await waitForStatus(runner, s, (x) => x.state === 'running');
    const sup = supervisorPid(stateDir, s);
    const l = tc.leaves(s);
    t.same(tc.pidsIn(l.supervisor), [sup], 'the supervisor alone is in the supervisor leaf');
    t.same(tc.pidsIn(l.rank).sort(), [st.pid!, child].sort(), 'the rank and its child are in the rank leaf');
    await runner.stop(keyOf(s), 2, 'done');
    t.same(tc.pidsIn(l.rank), [], 'nothing left in the rank leaf');
    await runner.forget(keyOf(s));
    t.equal(tc.calls.release, 1, 'forget released the cgroups');
    t.notOk(existsSync(path.dirname(l.rank)), "the task's cgroups are removed");
  });

  t.test(`${kind}: an adopting runner stops a contained rank and nothing escapes`, opts(kind), async (t) => {
    const tc = testContainment(t);
    const first = setup(t, { supervisor: kind, containment: tc.containment });
    const s = spec({ command: DAEMON });
    await first.runner.start(s);
    const daemon = Number((await waitForLog(first.runner, s, /daemon=(\d+)/))[1]);
    t.teardown(() => killPid(daemon));
    await waitForStatus(first.runner, s, (x) => x.state === 'running');
    await first.runner.close();

    const second = newRunner(t, first.stateDir, { supervisor: kind, containment: tc.containment });
    const adopted = await second.adopt();
    t.equal(adopted.find((x) => x.jobId === s.jobId)?.state, 'running', 'the contained rank is adopted running');
    await second.stop(keyOf(s), 2, 'stopped by the new agent');
    const end = second.get(s)!;
    t.equal(end.state, 'exited');
    t.equal(end.endedBy, 'stopped');
    t.ok(end.usage, 'usage measured for an adopted rank');
    t.notOk(processAlive(daemon), 'the daemon is gone');
    t.same(tc.pidsIn(tc.leaves(s).rank), [], 'the rank leaf is empty');
  });

  t.test(`${kind}: a dead supervisor: the runner's last-resort kill empties the rank's cgroups`, opts(kind), async (t) => {
    const tc = testContainment(t);
    const { runner, stateDir } = setup(t, { supervisor: kind, containment: tc.containment });
    const s = spec({ command: DAEMON });
    await runner.start(s);
    const daemon = Number((await waitForLog(runner, s, /daemon=(\d+)/))[1]);
    t.teardown(() => killPid(daemon));
    await waitForStatus(runner, s, (x) => x.state === 'running');
    killPid(supervisorPid(stateDir, s));
    const end = await waitForStatus(runner, s, finished);
    t.match(end.message, /the supervisor died/);
    t.ok(tc.calls.kill >= 1, "the runner called the containment's kill");
    await waitFor('the daemon gone', () => !processAlive(daemon));
    t.same(tc.pidsIn(tc.leaves(s).rank), [], 'the rank leaf is empty');
  });

  t.test(`${kind}: a rank leaf that cannot be joined: failed-to-start naming the file, nothing runs`, opts(kind), async (t) => {
    const { end, ran, tc, key } = await touchUnder(t, kind, { missingRankDir: true });
    t.equal(end.state, 'failed-to-start');
    t.match(end.message, `cannot move the rank into its cgroup: write ${path.join(tc.leaves(key).rank, 'cgroup.procs')}`, 'the message names the file');
    t.match(end.message, /ENOENT/, 'and the errno');
    t.notOk(ran, 'the command never ran');
  });
}

// What a rank's shell needs (null, zero for dd's input is left out on purpose, tty, ptmx, pts, urandom).
const SHELL_DEVICES = ['c:1:3:rwm', 'c:1:7:rwm', 'c:1:8:rwm', 'c:1:9:rwm', 'c:5:0:rwm', 'c:5:2:rwm', 'c:136:*:rwm'];

for (const kind of KINDS) {
  t.test(`${kind}: the supervisor attaches spec.json's device program before the rank starts: /dev/null opens, /dev/zero is EPERM`, opts(kind), async (t) => {
    const tc = testContainment(t, { deviceRules: SHELL_DEVICES });
    const { runner, workdir } = setup(t, { supervisor: kind, containment: tc.containment });
    const out = path.join(workdir, 'opens');
    const s = spec({ command: ['/bin/sh', '-c', `{ head -c 1 /dev/null && echo null-ok; head -c 1 /dev/zero >/dev/null 2>&1 && echo zero-ok || echo zero-denied; } > ${out} 2>&1`] });
    await runner.start(s);
    const end = await waitForStatus(runner, s, finished);
    t.equal(end.state, 'exited', end.message);
    t.same(readFileSync(out, 'utf8').trim().split('\n'), ['null-ok', 'zero-denied']);
  });

  t.test(`${kind}: a device program that cannot be attached: failed-to-start saying why, nothing runs`, opts(kind), async (t) => {
    const { end, ran } = await touchUnder(t, kind, { deviceRules: ['c:1:3:rwm', 'x:1:5:r'] });
    t.equal(end.state, 'failed-to-start');
    t.match(end.message, /cannot limit the rank's devices: .*bad rule 2 "x:1:5:r": type must be c or b/);
    t.notOk(ran, 'the command never ran');
  });
}

t.test('node, warm: a warm supervisor taking a contained task joins the leaves like a cold one', opts('node'), async (t) => {
  const tc = testContainment(t);
  const { runner, stateDir } = setup(t, { supervisor: 'node', containment: tc.containment, warmSupervisors: 1 });
  await runner.adopt();
  await waitFor('a warm supervisor ready', () => runner.warmPool().ready === 1);
  const s = spec({ command: DAEMON });
  await runner.start(s);
  const daemon = Number((await waitForLog(runner, s, /daemon=(\d+)/))[1]);
  t.teardown(() => killPid(daemon));
  t.match(runner.warmPool(), { used: 1 }, 'a warm supervisor took it');
  const st = await waitForStatus(runner, s, (x) => x.state === 'running');
  t.same(tc.pidsIn(tc.leaves(s).supervisor), [supervisorPid(stateDir, s)], 'the supervisor is in the supervisor leaf');
  t.ok(tc.pidsIn(tc.leaves(s).rank).includes(st.pid!), 'the rank is in the rank leaf');
  await runner.stop(keyOf(s), 2, 'done');
  t.notOk(processAlive(daemon), 'the daemon is gone');
});

t.test('a prepare that throws: failed-to-start, nothing runs', opts('node'), async (t) => {
  const tc = testContainment(t, { failPrepare: 'no cgroup for you' });
  const { runner, workdir, stateDir } = setup(t, { supervisor: 'node', containment: tc.containment });
  const marker = path.join(workdir, 'ran');
  const s = spec({ command: ['touch', marker] });
  const st = await runner.start(s);
  t.equal(st.state, 'failed-to-start', 'start answers failed-to-start');
  t.match(st.message, 'cannot contain the rank: no cgroup for you');
  const dir = path.join(stateDir, 'tasks', s.jobId, '0', '1');
  t.notOk(existsSync(path.join(dir, 'launch.json')), 'no supervisor was launched');
  t.same(await runner.start(s), st, 'a repeated start is answered from the record (idempotent)');
  t.equal(tc.calls.prepare, 1, 'prepared once');
  await new Promise((r) => setTimeout(r, 300));
  t.notOk(existsSync(marker), 'the command never ran');
});

t.test('native: an OOM kill in the rank leaf ends it with endedBy oom', opts('native'), async (t) => {
  const tc = testContainment(t, { v1MemoryBytes: 64 * 1024 * 1024 });
  const { runner } = setup(t, { supervisor: 'native', containment: tc.containment });
  // tail keeps a line without a newline in memory: 512 MiB of zeros do not fit in 64 MiB.
  const s = spec({ command: ['bash', '-c', 'exec tail -n 1 < <(head -c 536870912 /dev/zero) >/dev/null'] });
  await runner.start(s);
  const end = await waitForStatus(runner, s, finished);
  if (end.usage?.oomKills === null) {
    t.pass('skipped: no v1 memory cgroup here, the OOM kill count cannot be read');
    return;
  }
  t.equal(end.signal, 'SIGKILL', 'killed by the kernel');
  t.ok((end.usage?.oomKills ?? 0) > 0, 'the OOM kill is counted');
  t.equal(end.endedBy, 'oom');
  t.match(end.message, /^out of memory: killed by SIGKILL/);
  await waitFor('rank gone', () => tc.pidsIn(tc.leaves(s).rank).length === 0);
});
