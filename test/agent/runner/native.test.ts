/**
 * The native supervisor (agent/runner/native/gantry-supervisor.c) and its launcher, beyond the
 * contract the runner tests check for both supervisors: how the runner uses it (one launcher, no
 * warm pool, task-dir names, the launcher's death), the choice between native and Node, and the
 * binary's own edges (the launcher's refusals, a broken spec.json, JSON escapes in the rank's
 * environment, usage errors). Real processes throughout.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { FailedPreconditionError, InvalidArgumentError } from '../../../shared/errors/index.js';
import { createTaskRunner, type TaskKey } from '../../../agent/runner/index.js';
import { processAlive } from '../../../agent/runner/procfs.js';
import { NATIVE_SUPERVISOR, finished, readWholeLog, setup, spec, tempDir, waitFor, waitForStatus, needs } from './helpers.js';

const taskDirOf = (stateDir: string, k: TaskKey): string => path.join(stateDir, 'tasks', k.jobId, String(k.rank), String(k.epoch));
const readRecord = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
const argvOf = (pid: number): string[] => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  } catch {
    return [];
  }
};
/** Live launchers of a state dir (argv: gantry-supervisor --launcher <stateDir>/tasks). */
const launchersOf = (stateDir: string): number[] =>
  readdirSync('/proc')
    .filter((n) => /^[0-9]+$/.test(n))
    .map(Number)
    .filter((pid) => {
      const argv = argvOf(pid);
      return argv[1] === '--launcher' && argv[2] === path.join(stateDir, 'tasks') && processAlive(pid);
    });
const waitForGo = (workdir: string, code = 7): string[] => ['bash', '-c', `echo waiting; while [ ! -e ${workdir}/go ]; do sleep 0.05; done; echo going; exit ${code}`];

t.test('ranks run under native supervisors forked by one launcher: named by their task dir, no warm pool', needs('native'), async (t) => {
  const { runner, stateDir, workdir } = setup(t, { supervisor: 'native', warmSupervisors: 4 });
  await runner.adopt();
  t.equal(launchersOf(stateDir).length, 1, 'adopt() starts the launcher');
  const specs = [0, 1, 2].map((rank) => spec({ rank, command: waitForGo(workdir), workdir }));
  const started = await Promise.all(specs.map((s) => runner.start(s)));
  t.same(
    started.map((s) => s.state),
    ['running', 'running', 'running'],
  );
  t.equal(launchersOf(stateDir).length, 1, 'still one launcher for three starts');
  for (const s of specs) {
    const dir = taskDirOf(stateDir, s);
    const launch = readRecord(path.join(dir, 'launch.json'));
    t.equal(launch.native, true, 'launch.json: native');
    t.same(argvOf(launch.supervisorPid as number).slice(0, 2), [NATIVE_SUPERVISOR, dir], 'the supervisor is named by its task dir');
    t.equal(readRecord(path.join(dir, 'status.json')).supervisorPid, launch.supervisorPid);
  }
  t.match(runner.warmPool(), { ready: 0, booting: 0, used: 0, cold: 0, native: 3 }, 'no warm Node supervisors with the native one');
  writeFileSync(path.join(workdir, 'go'), '');
  for (const s of specs) t.match(await waitForStatus(runner, s, finished), { state: 'exited', exitCode: 7, signal: null });
  t.match(await readWholeLog(runner, specs[0]!), /waiting\ngoing/);
});

t.test('a launcher that dies: its supervisors and ranks live on and are polled; the next start gets a new launcher', needs('native'), async (t) => {
  const { runner, stateDir, workdir } = setup(t, { supervisor: 'native' });
  const first = spec({ command: waitForGo(workdir, 3), workdir });
  const st = await runner.start(first);
  t.equal(st.state, 'running');
  const [launcher] = launchersOf(stateDir);
  t.ok(launcher, 'a launcher runs');
  process.kill(launcher!, 'SIGKILL');
  await waitFor('the launcher to die', () => !processAlive(launcher!));
  t.ok(processAlive(st.pid!), 'the rank lives on');
  writeFileSync(path.join(workdir, 'go'), '');
  t.match(await waitForStatus(runner, first, finished, 'the exit, found by polling'), { state: 'exited', exitCode: 3 });
  const second = spec({ command: ['true'], workdir });
  t.match(await runner.start(second), { state: /running|exited/ });
  t.match(await waitForStatus(runner, second, finished), { state: 'exited', exitCode: 0 });
  const now = launchersOf(stateDir);
  t.equal(now.length, 1, 'one new launcher');
  t.not(now[0], launcher);
});

t.test('the runner closing ends the launcher (its input ends); a running rank and its supervisor live on', needs('native'), async (t) => {
  const { runner, stateDir, workdir } = setup(t, { supervisor: 'native' });
  const s = spec({ command: waitForGo(workdir), workdir });
  const st = await runner.start(s);
  const [launcher] = launchersOf(stateDir);
  const supervisorPid = readRecord(path.join(taskDirOf(stateDir, s), 'launch.json')).supervisorPid as number;
  await runner.close();
  await waitFor('the launcher to exit', () => !processAlive(launcher!));
  t.ok(processAlive(supervisorPid) && processAlive(st.pid!), 'supervisor and rank live on');
  writeFileSync(path.join(workdir, 'go'), '');
  await waitFor('exit.json', () => readdirSync(taskDirOf(stateDir, s)).includes('exit.json'));
  t.match(readRecord(path.join(taskDirOf(stateDir, s), 'exit.json')), { writer: 'supervisor', code: 7 });
});

t.test('the environment reaches the rank byte for byte through spec.json (JSON escapes, non-ASCII)', needs('native'), async (t) => {
  const { runner, workdir } = setup(t, { supervisor: 'native' });
  const values = {
    QUOTE: 'say "hi" \\ back\\slash',
    CONTROL: 'tab\tnew\nline\r\u0001\u001f',
    UNICODE: 'é ☃ 日本 😀',
    EMPTY: '',
    SLASH: '</script>/',
  };
  const s = spec({ command: ['node', '-e', `process.stdout.write(JSON.stringify(Object.fromEntries(${JSON.stringify(Object.keys(values))}.map((k) => [k, process.env[k]]))))`], env: values, workdir });
  await runner.start(s);
  t.match(await waitForStatus(runner, s, finished), { state: 'exited', exitCode: 0 });
  t.same(JSON.parse(await readWholeLog(runner, s)), values);
});

t.test("'auto' runs the Node supervisor when the native one is not built; 'native' then refuses to start, naming it", async (t) => {
  const { stateDir, workdir } = setup(t, { supervisor: 'node' }); // runs where no native supervisor was built, too
  const missing = path.join(stateDir, 'no-such-gantry-supervisor');
  const auto = createTaskRunner({ stateDir, allowedUsers: ['nobody'], allowRoot: false, logMaxBytes: 1 << 20, logKeep: 1, pollMs: 50, nativeSupervisorPath: missing });
  t.teardown(() => auto.close());
  const s = spec({ command: ['true'], workdir });
  await auto.start(s);
  t.match(await waitForStatus(auto, s, finished), { state: 'exited', exitCode: 0 });
  t.match(auto.warmPool(), { cold: 1, native: 0 }, 'a cold Node supervisor ran it');

  const native = createTaskRunner({ stateDir, allowedUsers: ['nobody'], allowRoot: false, logMaxBytes: 1 << 20, logKeep: 1, supervisor: 'native', nativeSupervisorPath: missing });
  t.teardown(() => native.close());
  try {
    await native.start(spec({ command: ['true'], workdir }));
    t.fail('started without its supervisor');
  } catch (e) {
    t.ok(e instanceof FailedPreconditionError, 'FailedPrecondition');
    t.match((e as Error).message, missing);
  }
  try {
    createTaskRunner({ stateDir, allowedUsers: [], allowRoot: false, logMaxBytes: 1024, logKeep: 1, supervisor: 'rust' as never });
    t.fail('a bad supervisor option accepted');
  } catch (e) {
    t.ok(e instanceof InvalidArgumentError, 'a bad supervisor option is refused');
    t.match((e as Error).message, /supervisor/);
  }
});

/** Runs a launcher on root, writes lines to it, and returns what it said once `want` lines came. */
async function launcherSays(t: Test, root: string, lines: string[], want: number, padding = ''): Promise<string[]> {
  const child = spawn(NATIVE_SUPERVISOR, ['--launcher', root, ...(padding ? [padding] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stdin.write(lines.map((l) => `${l}\n`).join(''));
  await waitFor(`${want} lines from the launcher`, () => out.split('\n').filter(Boolean).length >= want || undefined);
  child.stdin.end();
  t.equal(await exited, 0, 'the launcher exits 0 at the end of its input');
  return out.split('\n').filter(Boolean);
}

t.test('the launcher refuses task dirs that are not <tasksRoot>/<job>/<rank>/<epoch>, and forks for those that are', needs('native'), async (t) => {
  const root = path.join(tempDir(t, 'gantry-native-'), 'tasks');
  const good = path.join(root, 'job-a', '0', '1');
  mkdirSync(good, { recursive: true });
  writeFileSync(path.join(good, 'spec.json'), JSON.stringify({ version: 1, command: ['true'], env: { PATH: process.env.PATH }, workdir: '/', user: null, graceSeconds: 1, logMaxBytes: 1024, logKeep: 1 }));
  const cases = [
    ['a', path.join(root, 'job-a', '0')],
    ['b', `${root}/job-a/../../x/1`],
    ['c', `${root}/job-a/./0/1`],
    ['d', `${root}x/job-a/0/1`],
    ['e', 'relative/job-a/0/1'],
    ['f', `${root}/job-a/0/1/extra`],
    ['g', `${root}//0/1`],
  ];
  const said = await launcherSays(t, root, [...cases.map(([id, dir]) => `${id} ${dir}`), `ok ${good}`], cases.length + 3);
  for (const [id] of cases) t.ok(said.includes(`refused ${id}`), `refused ${id}`);
  t.ok(said.some((l) => /^spawned ok [0-9]+$/.test(l)), 'spawned the good one');
  t.ok(said.some((l) => /^started ok [0-9]+ [0-9]+ [0-9]+ [0-9]+$/.test(l)), 'its supervisor said the rank started');
  await waitFor('the exit record', () => readdirSync(good).includes('exit.json'));
  t.match(readRecord(path.join(good, 'exit.json')), { writer: 'supervisor', code: 0, failedToStart: false });
});

t.test('a launcher with room in its argv supervises in the forked process, retitled; without room it execs; both name the task dir', needs('native'), async (t) => {
  const root = path.join(tempDir(t, 'gantry-native-'), 'tasks');
  for (const [name, padding] of [
    ['forked', ' '.repeat(512)],
    ['execd', ''],
  ] as const) {
    const dir = path.join(root, name, '0', '1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'spec.json'), JSON.stringify({ version: 1, command: ['sleep', '30'], env: { PATH: process.env.PATH }, workdir: '/', user: null, graceSeconds: 1, logMaxBytes: 1024, logKeep: 1 }));
    const said = await launcherSays(t, root, [`${name} ${dir}`], 2, padding);
    const pid = Number(/^spawned \S+ ([0-9]+)$/m.exec(said.join('\n'))?.[1]);
    t.teardown(() => {
      try {
        process.kill(pid, 'SIGKILL');
        process.kill(-(readRecord(path.join(dir, 'status.json')).pgid as number), 'SIGKILL');
      } catch {
        // gone
      }
    });
    t.match(said.join('\n'), new RegExp(`^started ${name} ${pid} [0-9]+ [0-9]+ [0-9]+$`, 'm'), `${name}: started`);
    t.same(argvOf(pid), [NATIVE_SUPERVISOR, dir, name], `${name}: its command line names the task dir`);
    process.kill(pid, 'SIGTERM');
    await waitFor('the exit record', () => readdirSync(dir).includes('exit.json'));
    t.match(readRecord(path.join(dir, 'exit.json')), { signal: 'SIGTERM', message: /^stopped \(SIGTERM to the supervisor\); killed by SIGTERM$/ });
    // Forked, it writes supervisor.log only when it has something to say; exec'd, it opens it first.
    t.equal(readdirSync(dir).includes('supervisor.log'), name === 'execd', `${name}: supervisor.log`);
  }
});

t.test("a rank under the supervisor's own user (posix_spawn): PATH from the rank's environment, exec and workdir errors, own session, default signals", needs('native'), async (t) => {
  const base = tempDir(t, 'gantry-native-');
  const root = path.join(base, 'tasks');
  const bin = path.join(base, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'only-here'), '#!/bin/sh\necho found "$0"\n', { mode: 0o755 });
  writeFileSync(path.join(bin, 'not-executable'), '#!/bin/sh\necho no\n', { mode: 0o644 });
  const cases: Array<{ name: string; command: string[]; env?: Record<string, string>; workdir?: string; exit: Record<string, unknown>; log?: RegExp }> = [
    { name: 'path', command: ['only-here'], env: { PATH: `/nonexistent:${bin}` }, exit: { failedToStart: false, code: 0 }, log: new RegExp(`found ${bin}/only-here`) },
    { name: 'notfound', command: ['only-here'], env: { PATH: '/usr/bin:/bin' }, exit: { failedToStart: true, message: 'cannot execute "only-here": no such file or directory (ENOENT)' } },
    { name: 'absent', command: ['/nonexistent/x'], exit: { failedToStart: true, message: 'cannot execute "/nonexistent/x": no such file or directory (ENOENT)' } },
    { name: 'noexec', command: ['not-executable'], env: { PATH: bin }, exit: { failedToStart: true, message: /not found on PATH, or not executable by the rank's user \(EACCES\)/ } },
    { name: 'noexec-abs', command: [path.join(bin, 'not-executable')], exit: { failedToStart: true, message: /permission denied \(EACCES\)/ } },
    { name: 'workdir', command: ['true'], workdir: path.join(base, 'gone'), exit: { failedToStart: true, message: /\(ENOENT\)/ } },
    // The rank process itself (no shell between) says what it inherited: nothing blocked or ignored (the supervisor ignores SIGPIPE and blocks SIGTERM, SIGCHLD...).
    { name: 'signals', command: ['grep', '-E', '^Sig(Blk|Ign)', '/proc/self/status'], exit: { failedToStart: false, code: 0 }, log: /^SigBlk:\s+0+\nSigIgn:\s+[0-9a-f]+\n$/ },
    { name: 'workdir-ok', command: ['pwd'], env: { PATH: '/usr/bin:/bin' }, workdir: bin, exit: { failedToStart: false, code: 0 }, log: new RegExp(`^${bin}\n$`) },
    { name: 'session', command: ['cat', '/proc/self/stat'], workdir: bin, exit: { failedToStart: false, code: 0 } },
  ];
  for (const c of cases) {
    const dir = path.join(root, c.name, '0', '1');
    mkdirSync(dir, { recursive: true });
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...c.env };
    writeFileSync(path.join(dir, 'spec.json'), JSON.stringify({ version: 1, command: c.command, env, workdir: c.workdir ?? '/', user: null, graceSeconds: 1, logMaxBytes: 1 << 20, logKeep: 1 }));
    const r = spawnSync(NATIVE_SUPERVISOR, [dir], { encoding: 'utf8' });
    t.equal(r.status, 0, `${c.name}: the supervisor exits 0`);
    t.match(readRecord(path.join(dir, 'exit.json')), c.exit, c.name);
    const log = readFileSync(path.join(dir, 'log'), 'utf8');
    if (c.log) t.match(log, c.log, `${c.name}: log`);
    if (c.name === 'signals') {
      // Signals 1-31 as the kernel defines them; glibc keeps its internal 32 and 33 for itself (no spawn API resets them).
      const ignored = BigInt(`0x${/SigIgn:\s+([0-9a-f]+)/.exec(log)?.[1] ?? 'ffffffff'}`);
      t.equal(ignored & 0x7fffffffn, 0n, `no signal of 1-31 ignored (${ignored.toString(16)})`);
    }
    if (c.name === 'session') {
      const [pid, , , , pgrp, sid] = log.replace(/\(.*\)/, 'cat').split(' ');
      t.ok(pid === pgrp && pid === sid, `the rank leads its own session and group (pid ${pid}, pgrp ${pgrp}, sid ${sid})`);
    }
  }
});

t.test('a spec.json that is not a valid record: the rank never runs and the exit record says why', needs('native'), async (t) => {
  const root = path.join(tempDir(t, 'gantry-native-'), 'tasks');
  const cases: Array<[string, string, RegExp]> = [
    ['broken', '{"version":1,"command":["true"', /not a valid record/],
    ['nocmd', JSON.stringify({ version: 1, command: [], env: {}, workdir: '/', user: null, graceSeconds: 1, logMaxBytes: 1024, logKeep: 1 }), /no command/],
    ['badenv', JSON.stringify({ version: 1, command: ['true'], env: 'PATH=/bin', workdir: '/', user: null, graceSeconds: 1, logMaxBytes: 1024, logKeep: 1 }), /no command or environment/],
  ];
  for (const [name, text, why] of cases) {
    const dir = path.join(root, name, '0', '1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'spec.json'), text);
    const r = spawnSync(NATIVE_SUPERVISOR, [dir], { encoding: 'utf8' });
    t.equal(r.status, 2, `${name}: exit status 2`);
    t.match(readRecord(path.join(dir, 'exit.json')), { failedToStart: true, code: null, message: why, writer: 'supervisor' }, name);
    t.notOk(readdirSync(dir).includes('status.json'), `${name}: no status record`);
  }
});

t.test('usage errors exit 2 with a usage line', needs('native'), async (t) => {
  for (const args of [[], ['relative/dir'], ['--launcher', 'relative']]) {
    const r = spawnSync(NATIVE_SUPERVISOR, args, { encoding: 'utf8' });
    t.equal(r.status, 2, `${JSON.stringify(args)}: exit 2`);
    t.match(r.stderr, /usage: gantry-supervisor/);
  }
});
