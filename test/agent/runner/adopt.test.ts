/**
 * Ranks outlive the agent: the supervisor keeps running and records the exit; a new runner on the
 * same state dir adopts running tasks and reports exits that happened while no runner existed.
 * The hard case runs the runner inside a child node process (the built dist/) and SIGKILLs it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { UnavailableError } from '../../../shared/errors/index.js';
import { packageRoot } from '../../../shared/procs/index.js';
import type { TaskStatus } from '../../../agent/runner/index.js';
import { processAlive } from '../../../agent/runner/procfs.js';
import { SUPERVISOR_KIND, childScript, finished, newRunner, readWholeLog, setup, spec, waitFor, waitForStatus, needs } from './helpers.js';

const DIST_RUNNER = path.join(packageRoot(), 'dist', 'agent', 'runner', 'index.js');

/** A rank that waits for a `go` file in its workdir, then exits 7: its exit is up to the test, not a clock. */
const waitForGo = (workdir: string): string[] => [
  'bash',
  '-c',
  `echo waiting; while [ ! -e ${workdir}/go ]; do sleep 0.05; done; echo going; exit 7`,
];

function taskDirOf(stateDir: string, s: { jobId: string; rank: number; epoch: number }): string {
  return path.join(stateDir, 'tasks', s.jobId, String(s.rank), String(s.epoch));
}

t.test('a rank survives the runner being closed; a new runner adopts it and reports its exit', needs(), async (t) => {
  const { runner, stateDir, workdir } = setup(t);
  const s = spec({ command: waitForGo(workdir) });
  await runner.start(s);
  const before = await waitForStatus(runner, s, (x) => x.state === 'running');
  await runner.close();

  const second = newRunner(t, stateDir);
  const updates: TaskStatus[] = [];
  second.onUpdate((u) => updates.push(u));
  const adopted = await second.adopt();
  t.equal(adopted.length, 1);
  t.match(adopted[0], { jobId: s.jobId, state: 'running', pid: before.pid, startedMs: before.startedMs }, 'adopted as running');
  writeFileSync(path.join(workdir, 'go'), '');
  const end = await waitForStatus(second, s, finished);
  t.match(end, { state: 'exited', exitCode: 7, signal: null });
  t.same(updates.map((u) => [u.state, u.exitCode]), [['exited', 7]], 'onUpdate reports the exit');
  t.match(await readWholeLog(second, s), /waiting\ngoing\n/);
});

t.test('SIGKILL of the agent process: the supervisor and rank live on; a new runner adopts them', needs(), async (t) => {
  const { stateDir, workdir } = setup(t);
  if (!existsSync(DIST_RUNNER)) throw new Error(`${DIST_RUNNER} is missing: build first`);
  const s = spec({ command: waitForGo(workdir) });
  const script = `
    import { createTaskRunner } from ${JSON.stringify(pathToFileURL(DIST_RUNNER).href)};
    const r = createTaskRunner({ stateDir: ${JSON.stringify(stateDir)}, allowedUsers: ['nobody'], allowRoot: false,
      logMaxBytes: 1048576, logKeep: 3, pollMs: 50, supervisor: ${JSON.stringify(SUPERVISOR_KIND)} });
    const st = await r.start(${JSON.stringify(s)});
    process.stdout.write(JSON.stringify(st) + '\\n');
    setInterval(() => undefined, 1000);
  `;
  const { child: agent, output, exited } = childScript(t, script);
  const line = await waitFor('the child runner to start the rank', () => output().split('\n').find((l) => l.startsWith('{')), 30_000);
  const started = JSON.parse(line) as TaskStatus;
  t.equal(started.state, 'running', `the child runner started the rank (${output()})`);

  agent.kill('SIGKILL');
  await exited;
  t.ok(processAlive(started.pid!), 'the rank survived the SIGKILL of the agent');

  const runner = newRunner(t, stateDir);
  const adopted = await runner.adopt();
  t.match(adopted, [{ jobId: s.jobId, state: 'running', pid: started.pid }], 'the new runner adopts it as running');
  writeFileSync(path.join(workdir, 'go'), '');
  const end = await waitForStatus(runner, s, finished);
  t.match(end, { state: 'exited', exitCode: 7, signal: null }, 'and reports exit code 7');
  const rec = JSON.parse(readFileSync(path.join(taskDirOf(stateDir, s), 'exit.json'), 'utf8')) as { writer: string };
  t.equal(rec.writer, 'supervisor', 'the exit was recorded by the surviving supervisor');
});

t.test('a task that finished while no runner existed is reported by adopt() with its code', needs(), async (t) => {
  const { runner, stateDir, workdir } = setup(t);
  const s = spec({ command: waitForGo(workdir) });
  const quick = spec({ command: ['bash', '-c', 'exit 5'] });
  await runner.start(s);
  await waitForStatus(runner, s, (x) => x.state === 'running');
  await runner.close();
  await t.rejects(runner.start(quick), new UnavailableError('the task runner is closed'), 'a closed runner refuses to start, saying it is closed');
  t.notOk(existsSync(path.join(stateDir, 'tasks', quick.jobId)), 'and creates no task directory');

  writeFileSync(path.join(workdir, 'go'), '');
  await waitFor('the supervisor to record the exit', () => existsSync(path.join(taskDirOf(stateDir, s), 'exit.json')));

  const second = newRunner(t, stateDir);
  const adopted = await second.adopt();
  t.match(adopted, [{ jobId: s.jobId, state: 'exited', exitCode: 7 }], 'adopt reports the exit that happened meanwhile');
  t.ok(adopted[0]!.startedMs > 0 && adopted[0]!.finishedMs >= adopted[0]!.startedMs);
  t.same(await second.adopt(), adopted, 'adopt again changes nothing');

  await second.forget(s);
  t.same(second.list(), [], 'forgotten after the scheduler acknowledged it');
  // The third runner's clock runs an hour ahead, so the log's age is not up to the test's speed.
  const third = newRunner(t, stateDir, { now: () => Date.now() + 3_600_000 });
  t.same(await third.adopt(), [], 'a forgotten task is not adopted again');
  t.match(await readWholeLog(third, s), /going/, 'its log stays until cleanup');
  t.equal(await third.cleanup(2 * 3_600_000), 0, 'cleanup keeps logs younger than its limit');
  t.ok(existsSync(taskDirOf(stateDir, s)));
  t.equal(await third.cleanup(60_000), 1, 'cleanup removes the older forgotten task');
  t.notOk(existsSync(path.join(stateDir, 'tasks', s.jobId)), 'and its empty job directory');
});

t.test('a supervisor that dies without a record: the runner kills the unsupervised rank and records the loss', needs(), async (t) => {
  const { runner, stateDir } = setup(t);
  const s = spec({ command: ['sleep', '300'] });
  await runner.start(s);
  const running = await waitForStatus(runner, s, (x) => x.state === 'running');
  const status = JSON.parse(readFileSync(path.join(taskDirOf(stateDir, s), 'status.json'), 'utf8')) as { supervisorPid: number };
  process.kill(status.supervisorPid, 'SIGKILL');
  const end = await waitForStatus(runner, s, finished);
  t.equal(end.state, 'exited');
  t.match(end.message, /supervisor died/);
  await waitFor('the rank to be killed', () => !processAlive(running.pid!));
  t.pass('the unsupervised rank was killed');
});

t.test('an SLO target is recorded in spec.json and known again to a runner that adopts the task', needs(), async (t) => {
  const { runner, stateDir, workdir } = setup(t);
  const slo = { service: 'svc-a', metric: 'vllm:e2e_request_latency_seconds', port: 9401, windowMs: 0, replica: 1 };
  const s = spec({ command: waitForGo(workdir), slo });
  const plain = spec({ command: waitForGo(workdir) });
  await runner.start(s);
  await runner.start(plain);
  await waitForStatus(runner, s, (x) => x.state === 'running');
  t.same(runner.sloOf(s), slo, 'the starting runner knows it');
  t.same(JSON.parse(readFileSync(path.join(taskDirOf(stateDir, s), 'spec.json'), 'utf8')).slo, slo, 'spec.json holds it');
  await runner.close();

  const second = newRunner(t, stateDir);
  const adopted = await second.adopt();
  t.equal(adopted.length, 2);
  t.same(second.sloOf(s), slo, 'an adopting runner reads it back');
  t.equal(second.sloOf(plain), undefined, 'a rank without an SLO has none');
  writeFileSync(path.join(workdir, 'go'), '');
  await waitForStatus(second, s, finished);
});

t.test('a bad SLO target is refused at start, naming the field', needs(), async (t) => {
  const { runner, workdir } = setup(t);
  try {
    await runner.start(spec({ command: waitForGo(workdir), slo: { service: 'svc', metric: 'bad metric', port: 9400, windowMs: 0, replica: 0 } }));
    t.fail('should refuse');
  } catch (e) {
    t.match((e as Error).message, /slo\.metric/);
  }
});
