/**
 * Warm supervisors (TaskRunnerOptions.warmSupervisors): booted ahead of time, handed a task over
 * IPC, then ordinary detached supervisors. Real child processes throughout: the pool is used, the
 * rank runs and its exit is recorded, the pool refills, a warm-started rank is adopted by a new
 * runner and stopped, idle ones exit when the runner closes or its process is SIGKILLed, and with
 * 0 warm the cold path is unchanged.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { packageRoot } from '../../../shared/procs/index.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { createTaskRunner, type TaskRunner } from '../../../agent/runner/index.js';
import { processAlive } from '../../../agent/runner/procfs.js';
import { childScript, finished, newRunner, readWholeLog, setup, spec, tempDir, waitFor, waitForStatus, needs } from './helpers.js';

const DIST_RUNNER = path.join(packageRoot(), 'dist', 'agent', 'runner', 'index.js');

const taskDirOf = (stateDir: string, s: { jobId: string; rank: number; epoch: number }): string =>
  path.join(stateDir, 'tasks', s.jobId, String(s.rank), String(s.epoch));

const readRecord = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** Live idle warm supervisors of a state dir (their argv: supervisor.js --warm <stateDir>/tasks ...). */
function idleWarm(stateDir: string): number[] {
  const root = path.join(stateDir, 'tasks');
  return readdirSync('/proc')
    .filter((n) => /^[0-9]+$/.test(n))
    .map(Number)
    .filter((pid) => {
      const argv = cmdline(pid).split('\0');
      return argv.includes('--warm') && argv.includes(root) && processAlive(pid);
    });
}

const poolReady = (runner: TaskRunner, n = 1): Promise<true> => waitFor('a ready warm supervisor', () => runner.warmPool().ready >= n || undefined, 30_000);

/** A rank that waits for a `go` file in its workdir, then exits 7. */
const waitForGo = (workdir: string): string[] => ['bash', '-c', `echo waiting; while [ ! -e ${workdir}/go ]; do sleep 0.05; done; echo going; exit 7`];

t.test('a start takes the warm supervisor: the rank runs, its output is logged and its exit recorded', needs('node'), async (t) => {
  const { runner, stateDir } = setup(t, { supervisor: 'node', warmSupervisors: 1, warmRefillDelayMs: 60_000 });
  t.same(runner.warmPool(), { ready: 0, booting: 0, used: 0, cold: 0, native: 0 }, 'nothing spawned before adopt()');
  await runner.adopt();
  await poolReady(runner);
  const [warmPid] = idleWarm(stateDir);
  t.ok(warmPid, 'one idle warm supervisor runs');
  t.match(cmdline(warmPid!).split('\0'), [process.execPath, '--no-memory-reducer', '--single-threaded', /supervisor\.js$/, '--warm'], 'with the lean Node flags');

  const s = spec({ command: ['bash', '-c', 'echo hello; echo GANTRY_CHECKPOINT; sleep 0.2; exit 3'] });
  const st = await runner.start(s);
  t.ok(st.state === 'running' || st.state === 'exited', `start settles on the rank's start (${st.state})`);
  t.ok(st.pid, 'with the rank pid');
  const dir = taskDirOf(stateDir, s);
  const launch = readRecord(path.join(dir, 'launch.json'));
  t.match(launch, { supervisorPid: warmPid, warm: true }, 'launch.json names the warm supervisor');
  t.equal(readRecord(path.join(dir, 'status.json')).supervisorPid, warmPid, 'which supervises the rank');
  t.match(runner.warmPool(), { ready: 0, used: 1, cold: 0 }, 'the pool is empty until the refill delay passes');

  const end = await waitForStatus(runner, s, finished);
  t.match(end, { state: 'exited', exitCode: 3, signal: null, message: 'exited with code 3' });
  t.match(readRecord(path.join(dir, 'exit.json')), { writer: 'supervisor', code: 3 }, 'the warm supervisor recorded the exit');
  t.match(await readWholeLog(runner, s), /hello\nGANTRY_CHECKPOINT\n/, 'the rank output is in its log');
  await waitFor('the supervisor to exit', () => !processAlive(warmPid!));
});

t.test('a warm-started rank: named by its task dir, adopted by a new runner, stopped with grace', needs('node'), async (t) => {
  const { runner, stateDir, workdir } = setup(t, { supervisor: 'node', warmSupervisors: 1 });
  await runner.adopt();
  await poolReady(runner);
  const s = spec({ command: waitForGo(workdir) });
  const st = await runner.start(s);
  t.equal(st.state, 'running');
  const sup = readRecord(path.join(taskDirOf(stateDir, s), 'status.json')).supervisorPid as number;
  t.equal(cmdline(sup).split('\0')[0], `${process.execPath} ${path.join(packageRoot(), 'dist', 'agent', 'runner', 'supervisor.js')} ${taskDirOf(stateDir, s)}`, 'its command line names the task dir, like a cold one');
  await runner.close();
  await waitFor('idle warm supervisors to exit once the runner closed', () => idleWarm(stateDir).length === 0);
  t.ok(processAlive(sup), 'the rank supervisor is not idle: it outlives the runner');

  const second = newRunner(t, stateDir, { supervisor: 'node' });
  t.match(await second.adopt(), [{ jobId: s.jobId, state: 'running', pid: st.pid }], 'a new runner adopts it as running');
  await second.stop(s, 5, 'test stop');
  t.match(second.get(s), { state: 'exited', signal: 'SIGTERM' }, 'the stop went through the warm-started supervisor');
  t.match(second.get(s)?.message, /^stopped \(test stop\)/);
  await waitFor('the supervisor to exit after recording the exit', () => !processAlive(sup));
});

t.test('the pool refills after the delay, and the refilled supervisor is used next', needs('node'), async (t) => {
  const { runner, stateDir, workdir } = setup(t, { supervisor: 'node', warmSupervisors: 1, warmRefillDelayMs: 50 });
  await runner.adopt();
  await poolReady(runner);
  const first = spec({ command: waitForGo(workdir) });
  await runner.start(first);
  await waitFor('the pool to refill', () => runner.warmPool().ready === 1 || undefined);
  const [refilled] = idleWarm(stateDir);
  t.ok(refilled, 'a new idle warm supervisor');
  const second = spec({ command: waitForGo(workdir) });
  await runner.start(second);
  t.equal(readRecord(path.join(taskDirOf(stateDir, second), 'launch.json')).supervisorPid, refilled, 'the next start took it');
  t.match(runner.warmPool(), { used: 2, cold: 0 });
  writeFileSync(path.join(workdir, 'go'), '');
  t.match(await waitForStatus(runner, first, finished), { exitCode: 7 });
  t.match(await waitForStatus(runner, second, finished), { exitCode: 7 });
});

t.test('more starts than warm supervisors: the rest start cold, all of them run', needs('node'), async (t) => {
  const { runner, stateDir } = setup(t, { supervisor: 'node', warmSupervisors: 1, warmRefillDelayMs: 60_000 });
  await runner.adopt();
  await poolReady(runner);
  const specs = [0, 1, 2].map((rank) => spec({ command: ['bash', '-c', 'exit 0'], jobId: `burst-${process.pid}`, rank }));
  const sts = await Promise.all(specs.map((s) => runner.start(s)));
  t.same(sts.map((s) => s.state === 'running' || s.state === 'exited'), [true, true, true]);
  t.match(runner.warmPool(), { used: 1, cold: 2 });
  const warmFlags = specs.map((s) => readRecord(path.join(taskDirOf(stateDir, s), 'launch.json')).warm === true);
  t.equal(warmFlags.filter(Boolean).length, 1, 'one of them warm');
  for (const s of specs) t.match(await waitForStatus(runner, s, finished), { state: 'exited', exitCode: 0 });
});

t.test('an idle warm supervisor killed meanwhile is replaced', needs('node'), async (t) => {
  const { runner, stateDir } = setup(t, { supervisor: 'node', warmSupervisors: 1, warmRefillDelayMs: 10 });
  await runner.adopt();
  await poolReady(runner);
  const [pid] = idleWarm(stateDir);
  process.kill(pid!, 'SIGKILL');
  await waitFor('a replacement', () => {
    const now = idleWarm(stateDir);
    return (now.length === 1 && now[0] !== pid && runner.warmPool().ready === 1) || undefined;
  });
  t.pass('a new one booted');
});

t.test('idle warm supervisors exit when the agent process is SIGKILLed (their IPC channel closes)', needs('node'), async (t) => {
  const { stateDir } = setup(t, { supervisor: 'node' });
  if (!existsSync(DIST_RUNNER)) throw new Error(`${DIST_RUNNER} is missing: build first`);
  const script = `
    import { createTaskRunner } from ${JSON.stringify(pathToFileURL(DIST_RUNNER).href)};
    const r = createTaskRunner({ stateDir: ${JSON.stringify(stateDir)}, allowedUsers: ['nobody'], allowRoot: false,
      logMaxBytes: 1048576, logKeep: 3, pollMs: 50, supervisor: 'node', warmSupervisors: 2 });
    await r.adopt();
    const t = setInterval(() => { if (r.warmPool().ready === 2) { process.stdout.write('ready\\n'); clearInterval(t); } }, 20);
    setInterval(() => undefined, 1000);
  `;
  const { child: agent, output, exited } = childScript(t, script);
  await waitFor('the child runner to fill its pool', () => output().includes('ready'), 30_000);
  const pids = idleWarm(stateDir);
  t.equal(pids.length, 2, `two idle warm supervisors (${output()})`);
  t.teardown(() => {
    for (const p of pids) if (processAlive(p)) process.kill(p, 'SIGKILL');
  });
  agent.kill('SIGKILL');
  await exited;
  await waitFor('the idle supervisors to exit', () => pids.every((p) => !processAlive(p)));
  t.pass('both exited with the agent');
});

t.test('with 0 warm supervisors every start spawns its supervisor (cold), as before', needs('node'), async (t) => {
  const { runner, stateDir, workdir } = setup(t, { supervisor: 'node', warmSupervisors: 0 });
  await runner.adopt();
  // The rank waits for a go file, so its supervisor is still there to be looked at.
  const s = spec({ command: waitForGo(workdir), workdir });
  const st = await runner.start(s);
  t.equal(st.state, 'running');
  const launch = readRecord(path.join(taskDirOf(stateDir, s), 'launch.json'));
  t.notOk('warm' in launch, 'launch.json of a cold spawn has no warm flag');
  t.match(cmdline(launch.supervisorPid as number).split('\0'), [process.execPath, '--no-memory-reducer', '--single-threaded', /supervisor\.js$/, taskDirOf(stateDir, s)], 'argv: the lean Node flags, and the task dir');
  t.same(idleWarm(stateDir), [], 'no warm supervisor');
  t.match(runner.warmPool(), { ready: 0, booting: 0, used: 0, cold: 1 });
  writeFileSync(path.join(workdir, 'go'), '');
  t.match(await waitForStatus(runner, s, finished), { state: 'exited', exitCode: 7 });
  t.match(await readWholeLog(runner, s), /waiting\ngoing/);
});

t.test('warm options are checked', needs('node'), async (t) => {
  for (const [over, field] of [
    [{ warmSupervisors: -1 }, 'warmSupervisors'],
    [{ warmSupervisors: 1.5 }, 'warmSupervisors'],
    [{ warmRefillDelayMs: -5 }, 'warmRefillDelayMs'],
  ] as const) {
    try {
      createTaskRunner({ stateDir: '/tmp/x', allowedUsers: [], allowRoot: false, logMaxBytes: 1024, logKeep: 1, ...over });
      t.fail(`${field} ${JSON.stringify(over)} accepted`);
    } catch (e) {
      t.ok(e instanceof InvalidArgumentError, `${JSON.stringify(over)} refused`);
      t.match((e as InvalidArgumentError).message, field);
    }
  }
});

t.test('a warm supervisor rehearses its hand-off at boot on a scratch dir it removes, and exits idle on SIGTERM', needs('node'), async (t) => {
  const { stateDir } = setup(t, { supervisor: 'node' });
  const scratchRoot = tempDir(t, 'gantry-warm-tmp-');
  const supervisor = path.join(packageRoot(), 'dist', 'agent', 'runner', 'supervisor.js');
  const child = spawn(process.execPath, [supervisor, '--warm', path.join(stateDir, 'tasks'), ' '.repeat(200)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: scratchRoot },
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
  await new Promise<void>((resolve, reject) => {
    child.on('message', (m: { op?: string } | null) => m?.op === 'ready' && resolve());
    child.once('exit', (code) => reject(new Error(`exited ${code} before ready: ${stderr}`)));
  });
  t.same(readdirSync(scratchRoot), [], `the rehearsal's scratch dir is gone (${stderr})`);
  child.kill('SIGTERM');
  t.same(await exited, [0, null], 'an idle warm supervisor exits 0 on SIGTERM');
});
