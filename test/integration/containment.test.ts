/**
 * Rank containment through the product's path, on this machine's real kernel (a hybrid host: v2 at
 * /sys/fs/cgroup/unified for cgroup.kill and the device program, v1 memory, pids and cpuset beside
 * it): a real scheduler and agent as child processes, jobs submitted with the CLI, ranks as real
 * processes in real cgroups. Each case can fail: without containment the daemon survives the cancel,
 * the block device opens (or fails with ENXIO, not EPERM), the memory hog runs to its end, and the
 * rank sees both CPUs.
 */
import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { JobView } from '../../shared/wire/index.js';
import { gantryCli as cli, jobView as getJob, INSECURE_CLI_ENV, listNodes, pidAlive, specSubmitter, startAgent, startScheduler, tempDir, testCgroupRoot, waitFor } from '../harness/cluster.js';
import { cgroupMounts } from '../../shared/procs/index.js';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timeout']);
const finished = (address: string, id: string, ms = 40_000): Promise<JobView> =>
  waitFor(`${id} finished`, async () => {
    const j = await getJob(address, id);
    return TERMINAL.has(j.state) ? j : undefined;
  }, ms);

/** The rank cgroup dirs (one per hierarchy) of a job's rank under a test agent's tree. */
function rankDirs(stateDir: string, jobId: string, rank: number, epoch: number): string[] {
  const name = `${jobId}.${rank}.${epoch}`;
  return cgroupMounts()
    .map((m) => path.join(m, testCgroupRoot(stateDir), name, 'rank'))
    .filter((d) => existsSync(d));
}

const V1_BLOCK = readdirSync('/dev').find((f) => /^(loop\d+|vd[a-z]|sd[a-z]|nvme\d+n\d+)$/.test(f));

t.test('ranks contained in cgroups', { skip: process.getuid?.() !== 0 && 'cgroups: needs root' }, async (t) => {
  // Nodes are lost only after 30 s: the agent's restart (last case) must not look like a lost node.
  const sched = await startScheduler(t, { lostAfterMs: 30_000, extraArgs: ['--set', 'jobs.requeueInitialMs=200', '--set', 'jobs.cycleIntervalMs=200'] });
  const env = { ...INSECURE_CLI_ENV, GANTRY_SCHEDULER_ADDRESS: sched.address };
  const stateDir = tempDir(t, 'gantry-contain-agent-');
  let agent = await startAgent(t, 'gpu-01', sched.address, { stateDir });
  await waitFor('the node ready', async () => (await listNodes(sched.address)).some((n) => n.name === 'gpu-01' && n.connectivity === 'ready'));
  const dir = tempDir(t, 'gantry-contain-');
  const submitSpec = specSubmitter(t, dir, env);
  const submit = (name: string, body: string): Promise<string> => submitSpec(name, `kind: Training\nname: ${name}\nmaxRetries: 0\n${body}`);
  const running = (id: string): Promise<JobView> =>
    waitFor(`${id} running`, async () => {
      const j = await getJob(sched.address, id);
      return j.state === 'running' ? j : undefined;
    }, 30_000);

  t.test('the agent says at start what the host enforces, in its log and as a metric', async (t) => {
    const line = await agent.child.waitForLog(/^rank containment: /, 1000);
    t.match(String(line.msg), /enforced: .*kill \(v2\).*devices \(v2\).*memory \(v1\)/);
    const text = await (await fetch(`http://127.0.0.1:${agent.metricsPort}/metrics`)).text();
    t.match(text, /gantry_agent_containment_enforced\{feature="kill",via="v2"\} 1/);
    t.match(text, /gantry_agent_containment_enforced\{feature="memory",via="v1"\} 1/);
  });

  t.test('a rank that starts a setsid daemon leaves nothing behind after cancel', async (t) => {
    const pidFile = path.join(dir, 'daemon.pid');
    const id = await submit('daemon', `ranks: 1\ngpusPerRank: 1\ncommand: ["/bin/sh", "-c", "setsid sh -c 'echo $$ > ${pidFile}; exec sleep 1000' & exec sleep 1000"]\n`);
    await running(id);
    const pid = await waitFor('the daemon pid', () => (existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8'))) || undefined);
    t.ok(pidAlive(pid), 'the daemon runs, in its own session');
    const dirs = rankDirs(stateDir, id, 0, 1);
    t.ok(dirs.length >= 2, `the rank has cgroups in several hierarchies (${dirs.join(', ')})`);
    t.ok(dirs.every((d) => readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').includes(String(pid))), 'the daemon is inside every rank cgroup');
    t.equal((await cli(['cancel', id], env)).code, 0);
    const job = await finished(sched.address, id);
    t.equal(job.state, 'cancelled');
    await waitFor('the daemon gone', () => !pidAlive(pid), 10_000);
    await waitFor('the rank cgroups removed once the rank ended', () => rankDirs(stateDir, id, 0, 1).length === 0, 15_000);
  });

  t.test('a rank may open /dev/null but no block device (EPERM from the device program)', { skip: !V1_BLOCK && 'no block device in /dev' }, async (t) => {
    const id = await submit('devices', `ranks: 1\ngpusPerRank: 1\ncommand: ["/bin/sh", "-c", "echo x > /dev/null || exit 3; head -c 1 /dev/${V1_BLOCK} 2>&1 >/dev/null | grep -q 'Operation not permitted' || exit 4"]\n`);
    const job = await finished(sched.address, id);
    t.equal(job.state, 'succeeded', `exit 3: /dev/null refused; exit 4: /dev/${V1_BLOCK} not refused with EPERM (${job.message})`);
  });

  t.test('ranks are pinned to CPUs of their GPUs\' NUMA node, and two ranks do not share', async (t) => {
    const out = path.join(dir, 'cpus');
    const id = await submit('cpus', `ranks: 2\ngpusPerRank: 1\ncommand: ["/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status > ${out}.$RANK; exec sleep 1000"]\n`);
    await running(id);
    const lists = await waitFor('both ranks wrote their CPUs', () => {
      const l = [0, 1].map((r) => (existsSync(`${out}.${r}`) ? readFileSync(`${out}.${r}`, 'utf8').split(':')[1]?.trim() : undefined));
      return l.every(Boolean) ? (l as string[]) : undefined;
    });
    for (const [r, list] of lists.entries()) {
      const cpuset = rankDirs(stateDir, id, r, 1).map((d) => path.join(d, 'cpuset.cpus')).find((f) => existsSync(f));
      t.ok(cpuset, `rank ${r} has a cpuset cgroup`);
      t.equal(list, readFileSync(cpuset!, 'utf8').trim(), `rank ${r} runs only on its cpuset`);
    }
    t.equal(lists.length, 2);
    t.not(lists[0], lists[1], `the two ranks hold different CPUs (${lists.join(' / ')})`);
    t.equal((await cli(['cancel', id], env)).code, 0);
    await finished(sched.address, id);
  });

  t.test('a rank over its memory limit is killed and reported as out of memory', async (t) => {
    // 64 MiB limit; the rank holds 256 MiB in the shell's memory (a variable), which the kernel refuses.
    const id = await submit('oom', `ranks: 1\ngpusPerRank: 1\nresources:\n  memoryGiBPerRank: 0.0625\ncommand: ["/usr/bin/python3", "-c", "b = bytearray(256 << 20); import time; time.sleep(30)"]\n`);
    const job = await finished(sched.address, id);
    t.equal(job.state, 'failed');
    t.match(job.message, /out of memory/);
    t.equal(job.ranks[0]?.endedBy, 'oom');
    t.ok((job.ranks[0]?.usage?.oomKills ?? 0) >= 1, 'the OOM kill is counted');
    const shown = await cli(['job', id], env);
    t.match(shown.stdout, /out of memory/);
  });

  t.test('a rank gets at most resources.maxProcesses processes, and its usage comes back with its exit', async (t) => {
    // pids.max 8: python and 7 children fit, the rest of its 20 forks fail (EAGAIN); it writes how many
    // it got, then burns a little CPU for the usage check.
    const out = path.join(dir, 'forks');
    const py = `import os, time\nn = 0\nfor i in range(20):\n    try:\n        if os.fork() == 0:\n            time.sleep(3); os._exit(0)\n        n += 1\n    except OSError:\n        pass\nopen('${out}', 'w').write(str(n))\nsum(range(3000000))\n`;
    const id = await submit('pids', `ranks: 1\ngpusPerRank: 1\nresources:\n  maxProcesses: 8\ncommand: ${JSON.stringify(['/usr/bin/python3', '-c', py])}\n`);
    const job = await finished(sched.address, id);
    t.equal(job.state, 'succeeded', job.message);
    const started = Number(readFileSync(out, 'utf8'));
    t.ok(started > 0 && started < 20, `some forks succeeded, not all 20 (${started})`);
    const usage = job.ranks[0]?.usage;
    t.ok((usage?.cpuUsec ?? 0) > 0, `CPU time measured (${usage?.cpuUsec} µs)`);
    t.ok((usage?.memoryPeakBytes ?? 0) > 0, `memory peak measured (${usage?.memoryPeakBytes} bytes)`);
    t.equal(usage?.oomKills, 0);
  });

  t.test('an agent restarted mid-run adopts a contained rank and can still stop it, daemon included', async (t) => {
    const pidFile = path.join(dir, 'daemon2.pid');
    const id = await submit('adopt', `ranks: 1\ngpusPerRank: 1\ncommand: ["/bin/sh", "-c", "setsid sh -c 'echo $$ > ${pidFile}; exec sleep 1000' & exec sleep 1000"]\n`);
    await running(id);
    const pid = await waitFor('the daemon pid', () => (existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8'))) || undefined);
    await agent.child.kill();
    agent = await startAgent(t, 'gpu-01', sched.address, { stateDir });
    const adopted = await agent.child.waitForLog('adopted tasks from the state directory', 10_000);
    t.ok(Number(adopted.tasks) >= 1, 'the restarted agent adopts the rank');
    await waitFor('the node reports again', async () => (await listNodes(sched.address)).some((n) => n.name === 'gpu-01' && n.connectivity === 'ready' && n.lastSeenMs > Date.now() - 2000));
    t.equal((await getJob(sched.address, id)).state, 'running', 'the job kept running across the restart');
    t.ok(pidAlive(pid), 'the daemon outlived the agent');
    t.equal((await cli(['cancel', id], env)).code, 0);
    t.equal((await finished(sched.address, id)).state, 'cancelled');
    await waitFor('the daemon gone', () => !pidAlive(pid), 10_000);
  });
});
