/**
 * The pure-v2 paths of the filesystem manager (memory.max, memory.swap.max, pids.max, cpuset.* on
 * v2, cgroup.subtree_control, the agent's leaf, memory.peak/memory.events), which this CI host
 * cannot run for real: its v2 hierarchy holds none of those controllers (they are bound to v1).
 * A temporary directory stands in for a cgroup2 mount, with the files the kernel would show made
 * beforehand; the test reads back what the manager wrote. The real-kernel tests cover v1 and v2's
 * kill and cpu.stat.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsCgroupManager, type DetectedLayout } from '../../../../agent/runner/cgroup/index.js';

t.test('pure v2: agent leaf, subtree_control, limits and usage files', async (t) => {
  const mount = mkdtempSync(join(tmpdir(), 'gantry-fake-cgroup2-'));
  t.teardown(() => rmSync(mount, { recursive: true, force: true }));
  const own = '/system.slice/gantry-agent.service';
  const leaf = (p: string): string => {
    mkdirSync(join(mount, p), { recursive: true });
    for (const f of ['cgroup.procs', 'cgroup.subtree_control', 'cgroup.kill', 'memory.max', 'memory.swap.max', 'pids.max', 'cpuset.cpus', 'cpuset.mems']) writeFileSync(join(mount, p, f), '');
    return join(mount, p);
  };
  leaf(own);
  const rank = leaf(`${own}/j.0.1/rank`);
  leaf(`${own}/j.0.1/supervisor`);
  writeFileSync(join(rank, 'cpu.stat'), 'usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n');
  writeFileSync(join(rank, 'memory.peak'), '5000000\n');
  writeFileSync(join(rank, 'memory.events'), 'low 0\nhigh 0\nmax 4\noom 3\noom_kill 2\noom_group_kill 0\n');
  const detected: DetectedLayout = {
    layout: { kind: 'v2', v2Mount: mount, v1Mounts: {}, enforced: { kill: 'v2', devices: null, memory: 'v2', pids: 'v2', cpuset: 'v2', cpuUsage: 'v2' } },
    own: { v2: own, v1: {} },
  };
  const m = new FsCgroupManager({ detected });
  const key = { jobId: 'j', rank: 0, epoch: 1 };
  await m.prepare(4242);
  t.equal(readFileSync(join(mount, own, 'agent', 'cgroup.procs'), 'utf8'), '4242', 'the agent moved into <own>/agent');
  t.equal(readFileSync(join(mount, own, 'cgroup.subtree_control'), 'utf8'), '+memory +pids +cpuset', 'controllers enabled in <base>');
  const cg = await m.create(key, { memoryBytes: 64 << 20, maxProcesses: 100, cpus: [2, 3, 4], mems: [1], devices: null });
  t.same(cg, { supervisor: [join(mount, own, 'j.0.1', 'supervisor')], rank: [rank], killFile: join(rank, 'cgroup.kill') });
  t.equal(readFileSync(join(mount, own, 'j.0.1', 'cgroup.subtree_control'), 'utf8'), '+memory +pids +cpuset', 'and in the task cgroup');
  const file = (f: string): string => readFileSync(join(rank, f), 'utf8');
  t.same(
    ['memory.max', 'memory.swap.max', 'pids.max', 'cpuset.cpus', 'cpuset.mems'].map(file),
    [String(64 << 20), '0', '100', '2-4', '1'],
    'limits on the rank leaf; no swap to dodge the memory limit',
  );
  t.same(await m.usage(key), { cpuUsec: 1234, memoryPeakBytes: 5000000, oomKills: 2 });
  await m.create(key, { memoryBytes: null, maxProcesses: null, cpus: null, mems: null, devices: null });
  t.same(['memory.max', 'memory.swap.max', 'pids.max', 'cpuset.cpus', 'cpuset.mems'].map(file), ['max', 'max', 'max', '\n', '\n'], 'no limits: max, and empty cpusets (the parent\'s)');
  await m.kill(key);
  t.equal(file('cgroup.kill'), '1', 'kill writes cgroup.kill');
});
