/**
 * The filesystem CgroupManager on the real kernel (as root, this host's hierarchies), under a
 * unique cgroupRoot removed in teardown: limits hold (memory OOM-kills, pids.max stops forks, the
 * cpuset pins), kill takes a setsid daemon, usage is measured, remove leaves nothing.
 */
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { detectHostLayout, FsCgroupManager, type DetectedLayout, type RankLimits } from '../../../../agent/runner/cgroup/index.js';
import { alive, baseDirs, removeTree, startInLeaves, uniqueTestRoot, waitFor } from './helpers.js';

const NO_LIMITS: RankLimits = { memoryBytes: null, maxProcesses: null, cpus: null, mems: null, devices: null };
const MiB = 1024 * 1024;

const detected = await detectHostLayout();
const canRun = process.getuid?.() === 0 && detected.layout.kind !== 'none';

async function setup(t: Test, d: DetectedLayout = detected): Promise<FsCgroupManager> {
  const m = new FsCgroupManager({ detected: d, cgroupRoot: uniqueTestRoot(), removeWaitMs: 3000, killWaitMs: 1000 });
  t.teardown(async () => {
    for (const dir of baseDirs(m.plan)) await removeTree(dir);
  });
  return m;
}

t.test('memory limit: a process allocating past it is OOM-killed and counted', { skip: canRun && detected.layout.enforced.memory ? false : 'needs root and a memory controller' }, async (t) => {
  const m = await setup(t);
  const key = { jobId: 'mem', rank: 0, epoch: 1 };
  const cg = await m.create(key, { ...NO_LIMITS, memoryBytes: 64 * MiB });
  // tail keeps a line that never ends (no newline in /dev/zero) in memory: 300 MiB of it.
  const p = startInLeaves(cg.rank, 'head -c 300M /dev/zero | tail > /dev/null; echo "pipeline status $?"');
  const r = await p.exited;
  t.equal(r.code, 0, 'the shell itself lived');
  t.match(p.stdout(), /pipeline status 137/, 'tail was SIGKILLed (128+9)');
  const memsw = cg.rank.find((d) => d.startsWith(`${detected.layout.v1Mounts['memory'] ?? '-'}/`));
  if (memsw && existsSync(`${memsw}/memory.memsw.limit_in_bytes`)) {
    t.equal(readFileSync(`${memsw}/memory.memsw.limit_in_bytes`, 'utf8').trim(), String(64 * MiB), 'memory+swap limited to the same value');
  }
  const u = await m.usage(key);
  t.ok((u.oomKills ?? 0) >= 1, `oomKills ${u.oomKills}`);
  t.ok((u.memoryPeakBytes ?? 0) > 32 * MiB && (u.memoryPeakBytes ?? Infinity) <= 64 * MiB + MiB, `peak ${u.memoryPeakBytes} near the limit`);
});

t.test('pids.max stops a fork bomb-lite', { skip: canRun && detected.layout.enforced.pids ? false : 'needs root and a pids controller' }, async (t) => {
  const m = await setup(t);
  const key = { jobId: 'pids', rank: 0, epoch: 1 };
  const cg = await m.create(key, { ...NO_LIMITS, maxProcesses: 10 });
  const py = [
    'import os, time',
    'n = 0',
    'for i in range(50):',
    '    try:',
    '        pid = os.fork()',
    '    except OSError:',
    '        continue',
    '    if pid == 0:',
    '        time.sleep(5); os._exit(0)',
    '    n += 1',
    'print("forked", n, flush=True)',
  ].join('\n');
  const p = startInLeaves(cg.rank, `exec /usr/bin/python3 -c '${py}'`);
  await p.exited;
  const forked = Number(/forked (\d+)/.exec(p.stdout())?.[1] ?? -1);
  t.ok(forked >= 1 && forked <= 9, `forks stopped at the limit (the python process is one of the 10): forked ${forked}; output ${p.stdout()}`);
  t.ok((await m.pids(key)).length >= 1, 'the sleeping children are in the rank leaf');
  await m.remove(key);
  t.same(await m.pids(key), [], 'removed (children killed)');
});

t.test('cpuset: the rank is pinned to CPU 1', { skip: canRun && detected.layout.enforced.cpuset ? false : 'needs root and a cpuset controller' }, async (t) => {
  const m = await setup(t);
  const key = { jobId: 'cpus', rank: 1, epoch: 0 };
  const cg = await m.create(key, { ...NO_LIMITS, cpus: [1], mems: [0] });
  const p = startInLeaves(cg.rank, 'exec sleep 30');
  t.teardown(() => void p.child.kill('SIGKILL'));
  await waitFor(() => /^Name:\s+sleep$/m.test(readFileSync(`/proc/${p.pid}/status`, 'utf8')), 3000, 'sh to exec sleep (after moving itself)');
  t.match(readFileSync(`/proc/${p.pid}/status`, 'utf8'), /Cpus_allowed_list:\s+1\n/);
  t.same(await m.pids(key), [p.pid], 'pids() lists it');
  await t.rejects(m.create({ jobId: 'cpus', rank: 2, epoch: 0 }, { ...NO_LIMITS, cpus: [99] }), { code: 'FAILED_PRECONDITION', message: /cpuset\.cpus/ }, 'a CPU the host lacks: an error naming the file');
  t.equal(await m.find({ jobId: 'cpus', rank: 2, epoch: 0 }), null, 'the failed create left no cgroups');
});

t.test('kill takes a setsid daemon; usage measured CPU; remove leaves nothing; list finds what create made', { skip: canRun ? false : 'needs root' }, async (t) => {
  const m = await setup(t);
  const key = { jobId: 'job.with.dots', rank: 3, epoch: 2 };
  const cg = await m.create(key, NO_LIMITS);
  t.same(await m.create(key, NO_LIMITS), cg, 'create is idempotent');
  t.same(await m.find(key), cg, 'find');
  t.equal(await m.find({ jobId: 'other', rank: 0, epoch: 0 }), null);
  t.same(await m.list(), [key], 'list parses the name back (split from the right)');
  for (const d of [...cg.rank, ...cg.supervisor]) t.ok(existsSync(d), `${d} made`);
  const p = startInLeaves(cg.rank, 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; setsid sleep 300 > /dev/null 2>&1 & echo "daemon $!"');
  await p.exited;
  const daemon = Number(/daemon (\d+)/.exec(p.stdout())?.[1]);
  t.ok(alive(daemon), 'the daemon outlived its shell');
  t.same(await m.pids(key), [daemon], 'only the daemon is left in the leaf');
  const u = await m.usage(key);
  t.ok((u.cpuUsec ?? 0) > 0, `cpuUsec ${u.cpuUsec} after a busy loop`);
  await m.kill(key);
  await waitFor(() => !alive(daemon), 3000, 'the daemon to die');
  t.same(await m.pids(key), [], 'the leaf is empty');
  await m.remove(key);
  for (const d of [...cg.rank, ...cg.supervisor]) t.notOk(existsSync(d), `${d} removed`);
  for (const d of cg.rank) t.notOk(existsSync(d.replace(/\/rank$/, '')), 'task dir removed');
  t.same(await m.list(), []);
  await m.remove(key);
  t.pass('removing again is fine');
});

t.test('remove refuses while the supervisor leaf holds a process, and kills the rank only when it may', { skip: canRun ? false : 'needs root' }, async (t) => {
  const m = await setup(t);
  const key = { jobId: 'sup', rank: 0, epoch: 0 };
  const cg = await m.create(key, NO_LIMITS);
  const sup = startInLeaves(cg.supervisor, 'exec sleep 30');
  const rank = startInLeaves(cg.rank, 'exec sleep 30');
  t.teardown(() => {
    sup.child.kill('SIGKILL');
    rank.child.kill('SIGKILL');
  });
  await waitFor(async () => (await m.pids(key)).includes(rank.pid), 3000, 'the rank in its leaf');
  await t.rejects(m.remove(key), { code: 'FAILED_PRECONDITION', message: /supervisor leaf still holds pid/ });
  t.ok(alive(rank.pid), 'the rank was not killed by the refused remove');
  sup.child.kill('SIGKILL');
  await sup.exited;
  await m.remove(key);
  t.notOk(alive(rank.pid), 'remove killed the rank');
  t.same(await m.list(), []);
});

/** This host seen without its v2 hierarchy: kill falls back to SIGKILL of every pid, CPU time comes from v1 cpuacct. */
function withoutV2(d: DetectedLayout): DetectedLayout {
  return {
    layout: { ...d.layout, kind: 'v1', v2Mount: null, enforced: { ...d.layout.enforced, kill: null, cpuUsage: d.layout.v1Mounts['cpuacct'] ? 'v1' : null } },
    own: { ...d.own, v2: null },
  };
}

t.test('without v2: kill SIGKILLs every pid in the leaves (a setsid daemon too); CPU time from cpuacct', { skip: canRun && detected.layout.v1Mounts['cpuacct'] ? false : 'needs root and v1 cpuacct' }, async (t) => {
  const m = await setup(t, withoutV2(detected));
  t.equal(m.plan.hierarchies.some((h) => h.version === 'v2'), false, 'no v2 hierarchy used');
  const key = { jobId: 'v1only', rank: 0, epoch: 0 };
  const cg = await m.create(key, NO_LIMITS);
  t.equal(cg.killFile, null, 'no cgroup.kill');
  const p = startInLeaves(cg.rank, 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; setsid sleep 300 > /dev/null 2>&1 & echo "daemon $!"');
  await p.exited;
  const daemon = Number(/daemon (\d+)/.exec(p.stdout())?.[1]);
  t.ok(alive(daemon), 'the daemon outlived its shell');
  const u = await m.usage(key);
  t.ok((u.cpuUsec ?? 0) > 0, `cpuUsec ${u.cpuUsec} from cpuacct.usage`);
  await m.kill(key);
  await waitFor(() => !alive(daemon), 3000, 'the daemon to die');
  t.same(await m.pids(key), [], 'the leaves are empty');
  await m.remove(key);
  t.same(await m.list(), []);
});

t.test('devices: the applier gets the rank leaf and the rules; without one devices are not enforced', { skip: canRun ? false : 'needs root' }, async (t) => {
  const calls: unknown[] = [];
  const withApplier = await detectHostLayout({ devicesApplier: true });
  const m = new FsCgroupManager({ detected: withApplier, cgroupRoot: uniqueTestRoot(), applyDevices: async (dirs, rules) => void calls.push({ dirs, rules }) });
  t.teardown(async () => {
    for (const dir of baseDirs(m.plan)) await removeTree(dir);
  });
  const rules = [{ type: 'c' as const, major: 195, minor: 0, access: 'rw' }];
  const cg = await m.create({ jobId: 'dev', rank: 0, epoch: 0 }, { ...NO_LIMITS, devices: rules });
  const v2 = withApplier.layout.v2Mount;
  const devicesMount = withApplier.layout.v1Mounts['devices'];
  const want = {
    v2: v2 ? (cg.rank.find((d) => d.startsWith(`${v2}/`)) ?? null) : null,
    v1: withApplier.layout.enforced.devices === 'v1' && devicesMount ? (cg.rank.find((d) => d.startsWith(`${devicesMount}/`)) ?? null) : null,
  };
  t.same(calls, [{ dirs: want, rules }], 'called once with the rank leaves');
  await m.create({ jobId: 'dev', rank: 1, epoch: 0 }, NO_LIMITS);
  t.equal(calls.length, 1, 'no rules (devices: null): not called');
  await m.remove({ jobId: 'dev', rank: 0, epoch: 0 });
  await m.remove({ jobId: 'dev', rank: 1, epoch: 0 });
  const without = new FsCgroupManager({ detected: withApplier, cgroupRoot: uniqueTestRoot() });
  t.equal(without.layout.enforced.devices, null, 'no applier: devices not enforced');
});

t.test('a sub-cgroup the rank made itself: its processes count, kill and remove take them and it', { skip: canRun ? false : 'needs root' }, async (t) => {
  const m = await setup(t);
  const key = { jobId: 'nested', rank: 0, epoch: 0 };
  const cg = await m.create(key, NO_LIMITS);
  const leaves = cg.rank.map((d) => `${d}/inner`);
  for (const d of leaves) {
    mkdirSync(d);
    // a v1 cpuset cgroup takes no process before its cpus and mems are written
    for (const f of ['cpuset.mems', 'cpuset.cpus']) if (existsSync(`${d}/${f}`)) writeFileSync(`${d}/${f}`, readFileSync(`${d}/../${f}`, 'utf8').trim());
  }
  const p = startInLeaves(leaves, 'exec sleep 30');
  t.teardown(() => void p.child.kill('SIGKILL'));
  await waitFor(() => /^Name:\s+sleep$/m.test(readFileSync(`/proc/${p.pid}/status`, 'utf8')), 3000, 'sleep in the sub-cgroup');
  t.same(await m.pids(key), [p.pid], 'pids() looks below the rank leaf');
  await m.remove(key);
  t.notOk(alive(p.pid), 'killed');
  for (const d of leaves) t.notOk(existsSync(d), `${d} removed`);
});
