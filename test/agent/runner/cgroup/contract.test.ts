/**
 * The CgroupManager contract, run against the filesystem manager (real kernel, as root, under a
 * unique cgroupRoot removed in teardown) and its in-memory twin: the same calls, the same answers.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { detectHostLayout, FsCgroupManager, MemoryCgroupManager, type CgroupManager, type RankCgroups, type RankLimits } from '../../../../agent/runner/cgroup/index.js';
import type { TaskKey } from '../../../../agent/runner/types.js';
import { baseDirs, removeTree, startInLeaves, uniqueTestRoot, waitFor, type Started } from './helpers.js';

const NO_LIMITS: RankLimits = { memoryBytes: null, maxProcesses: null, cpus: null, mems: null, devices: null };

interface Harness {
  manager: CgroupManager;
  /** Starts a process that stays in a leaf; returns its pid. */
  start(key: TaskKey, cg: RankCgroups, leaf: 'rank' | 'supervisor'): Promise<number>;
  /** Ends a process started by start(). */
  stop(key: TaskKey, pid: number): Promise<void>;
}

async function fsHarness(t: Test): Promise<Harness> {
  const manager = new FsCgroupManager({ detected: await detectHostLayout(), cgroupRoot: uniqueTestRoot(), removeWaitMs: 3000, killWaitMs: 1000 });
  const started = new Map<number, Started>();
  t.teardown(async () => {
    for (const s of started.values()) s.child.kill('SIGKILL');
    for (const dir of baseDirs(manager.plan)) await removeTree(dir);
  });
  return {
    manager,
    async start(_key, cg, leaf) {
      const s = startInLeaves(leaf === 'rank' ? cg.rank : cg.supervisor, 'exec sleep 30');
      started.set(s.pid, s);
      await waitFor(() => /^Name:\s+sleep$/m.test(readFileSync(`/proc/${s.pid}/status`, 'utf8')), 3000, 'sleep in its leaf');
      return s.pid;
    },
    async stop(_key, pid) {
      const s = started.get(pid);
      s?.child.kill('SIGKILL');
      await s?.exited;
    },
  };
}

async function memoryHarness(): Promise<Harness> {
  const manager = new MemoryCgroupManager();
  let next = 1000;
  return {
    manager,
    async start(key, _cg, leaf) {
      const pid = next++;
      manager.enter(key, leaf, pid);
      return pid;
    },
    async stop(key, pid) {
      manager.exit(key, pid);
    },
  };
}

function contract(name: string, make: (t: Test) => Promise<Harness>, skip: string | false): void {
  t.test(name, { skip }, async (t) => {
    t.test('create, find again, list', async (t) => {
      const { manager: m } = await make(t);
      const key = { jobId: 'c.job', rank: 1, epoch: 4 };
      const cg = await m.create(key, NO_LIMITS);
      t.ok(cg.rank.length >= 1 && cg.rank.length === cg.supervisor.length, 'one rank and one supervisor leaf per hierarchy');
      t.equal(cg.killFile === null, m.layout.enforced.kill === null, 'a kill file exactly where kill is enforced');
      t.ok(cg.rank.every((d) => d.endsWith('/c.job.1.4/rank')) && cg.supervisor.every((d) => d.endsWith('/c.job.1.4/supervisor')), '<base>/<jobId>.<rank>.<epoch>/{supervisor,rank}');
      t.same(await m.create(key, { ...NO_LIMITS, maxProcesses: 50 }), cg, 'create again finds the same cgroups');
      t.same(await m.find(key), cg);
      t.equal(await m.find({ ...key, epoch: 5 }), null, 'another epoch has none');
      await m.create({ jobId: 'a', rank: 0, epoch: 0 }, NO_LIMITS);
      t.same(await m.list(), [{ jobId: 'a', rank: 0, epoch: 0 }, key], 'list, sorted');
      await t.rejects(m.create({ jobId: 'bad/id', rank: 0, epoch: 0 }, NO_LIMITS), { code: 'INVALID_ARGUMENT', message: /jobId/ });
      const bad: [Partial<RankLimits>, RegExp][] = [
        [{ memoryBytes: -1 }, /limits\.memoryBytes/],
        [{ maxProcesses: 1.5 }, /limits\.maxProcesses/],
        [{ cpus: [] }, /limits\.cpus/],
        [{ mems: [-1] }, /limits\.mems/],
        [{ devices: [{ type: 'x' as 'c', major: 195, minor: 0, access: 'rw' }] }, /limits\.devices\[0\]/],
        [{ devices: [{ type: 'c', major: 195, minor: 0, access: 'rwx' }] }, /limits\.devices\[0\]/],
      ];
      for (const [limits, message] of bad) {
        await t.rejects(m.create({ jobId: 'bad', rank: 0, epoch: 0 }, { ...NO_LIMITS, ...limits }), { code: 'INVALID_ARGUMENT', message }, JSON.stringify(limits));
      }
      t.equal(await m.find({ jobId: 'bad', rank: 0, epoch: 0 }), null, 'bad limits: nothing made');
      await m.remove(key);
      await m.remove({ jobId: 'a', rank: 0, epoch: 0 });
    });

    t.test('pids, kill, usage', async (t) => {
      const h = await make(t);
      const m = h.manager;
      const key = { jobId: 'k', rank: 0, epoch: 0 };
      const cg = await m.create(key, NO_LIMITS);
      t.same(await m.pids(key), [], 'empty at first');
      const pid = await h.start(key, cg, 'rank');
      t.same(await m.pids(key), [pid]);
      const u = await m.usage(key);
      for (const f of ['cpuUsec', 'memoryPeakBytes', 'oomKills'] as const) t.ok(u[f] === null || (Number.isSafeInteger(u[f]) && (u[f] ?? -1) >= 0), `${f} is a count or null`);
      await m.kill(key);
      t.same(await m.pids(key), [], 'kill empties the rank leaf');
      await h.stop(key, pid);
      t.same(await m.usage({ jobId: 'none', rank: 0, epoch: 0 }), { cpuUsec: null, memoryPeakBytes: null, oomKills: null }, 'no cgroups: nothing measured');
      t.same(await m.pids({ jobId: 'none', rank: 0, epoch: 0 }), []);
      await m.kill({ jobId: 'none', rank: 0, epoch: 0 });
      t.pass('killing a task without cgroups is fine');
      await m.remove(key);
    });

    t.test('remove: refused while the supervisor lives, then complete, then a no-op', async (t) => {
      const h = await make(t);
      const m = h.manager;
      const key = { jobId: 'r', rank: 2, epoch: 1 };
      const cg = await m.create(key, NO_LIMITS);
      const sup = await h.start(key, cg, 'supervisor');
      const rank = await h.start(key, cg, 'rank');
      await t.rejects(m.remove(key), { code: 'FAILED_PRECONDITION', message: /supervisor leaf still holds pid/ });
      t.same(await m.pids(key), [rank], 'the rank is untouched');
      await h.stop(key, sup);
      await m.remove(key);
      t.equal(await m.find(key), null);
      t.same(await m.list(), []);
      t.same(await m.pids(key), []);
      await m.remove(key);
      t.pass('removing what is gone is fine');
      await h.stop(key, rank);
    });
  });
}

const root = process.getuid?.() === 0;
contract('filesystem manager (real kernel)', fsHarness, root ? false : 'needs root');
contract('in-memory twin', memoryHarness, false);

t.test('the twin\'s own handles: limits applied, usage the kernel would count, enter without cgroups refused', async (t) => {
  const m = new MemoryCgroupManager();
  const key = { jobId: 'tw', rank: 0, epoch: 0 };
  const limits = { ...NO_LIMITS, memoryBytes: 1 << 30 };
  await m.create(key, limits);
  t.same(m.limitsOf(key), limits);
  t.equal(m.limitsOf({ ...key, rank: 1 }), null);
  m.setUsage(key, { oomKills: 1 });
  t.same(await m.usage(key), { cpuUsec: 0, memoryPeakBytes: 0, oomKills: 1 });
  t.throws(() => m.enter({ ...key, rank: 1 }, 'rank', 7), { code: 'FAILED_PRECONDITION', message: /tw\.1\.0\/rank\/cgroup\.procs/ });
});
