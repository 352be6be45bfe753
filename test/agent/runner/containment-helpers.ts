/**
 * A small real RankContainment for the runner's tests (the agent's own, agent/runner/cgroup, is
 * built elsewhere): per task the two leaves `<task>/{supervisor,rank}` under a unique v2 test
 * directory (/sys/fs/cgroup/unified/gantry-test-<pid>-<rand>), and, when asked, the same two in v1
 * memory under this process's own memory cgroup (a limit there, and the OOM kill count). Everything
 * it made is killed and removed at teardown, even when the test failed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import type { RankContainment } from '../../../agent/runner/cgroup/types.js';
import type { SpecCgroupRecord } from '../../../agent/runner/records.js';
import type { TaskKey, TaskSpec, TaskUsage } from '../../../agent/runner/types.js';

export const V2_ROOT = '/sys/fs/cgroup/unified';
export const V1_MEMORY_ROOT = '/sys/fs/cgroup/memory';

/** Why the containment tests cannot run here, or undefined. */
export function cgroupsMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (cgroups)';
  if (!existsSync(path.join(V2_ROOT, 'cgroup.procs'))) return `no cgroup v2 hierarchy at ${V2_ROOT}`;
  return undefined;
}

/** The v1 memory cgroup this process is in (its directory), or undefined without one. */
function ownMemoryCgroup(): string | undefined {
  if (!existsSync(path.join(V1_MEMORY_ROOT, 'cgroup.procs'))) return undefined;
  const line = readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[1]?.split(',').includes('memory'));
  const rel = line?.split(':')[2];
  return rel === undefined ? undefined : path.join(V1_MEMORY_ROOT, rel);
}

export interface TestContainmentOptions {
  /** Also a v1 memory cgroup per rank, with this limit (bytes; 0: none). */
  v1MemoryBytes?: number;
  /** prepare() throws this. */
  failPrepare?: string;
  /** prepare() names a rank leaf that does not exist (a join that fails). */
  missingRankDir?: boolean;
  /** prepare() gives no killFile (as on a host without cgroup v2's cgroup.kill). */
  noKillFile?: boolean;
  /** prepare() asks the supervisor to attach a device program with these rules (gantry-devices syntax) to the v2 rank leaf. */
  deviceRules?: string[];
}

export interface TestContainment {
  containment: RankContainment;
  /** The v2 test directory. */
  base: string;
  /** The leaves of a task (v2), whether or not made yet. */
  leaves(key: TaskKey): { supervisor: string; rank: string };
  /** Pids listed in a cgroup directory's cgroup.procs (none when it is gone). */
  pidsIn(dir: string): number[];
  /** Calls to each method, for the tests that check the runner called them. */
  calls: { prepare: number; usage: number; kill: number; release: number };
}

const taskName = (k: TaskKey): string => `${k.jobId}.${k.rank}.${k.epoch}`;

function pidsIn(dir: string): number[] {
  try {
    return readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map(Number);
  } catch {
    return [];
  }
}

function killAllIn(dir: string): void {
  for (const pid of pidsIn(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Removes a cgroup tree bottom-up after killing what is in it (waits a little for the dead to leave). */
function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const ent of readdirSync(dir, { withFileTypes: true })) if (ent.isDirectory()) removeTree(path.join(dir, ent.name));
  const until = Date.now() + 3000;
  for (;;) {
    killAllIn(dir);
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      if (Date.now() > until) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

function readNumber(file: string, field?: string): number | null {
  try {
    const text = readFileSync(file, 'utf8');
    if (field === undefined) return Number(text.trim());
    const m = new RegExp(`^${field} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function testContainment(t: Test, opts: TestContainmentOptions = {}): TestContainment {
  const base = path.join(V2_ROOT, `gantry-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(base);
  const memParent = opts.v1MemoryBytes !== undefined ? ownMemoryCgroup() : undefined;
  const memBase = memParent ? path.join(memParent, path.basename(base)) : undefined;
  if (memBase) mkdirSync(memBase);
  t.teardown(() => {
    removeTree(base);
    if (memBase) removeTree(memBase);
  });
  const calls = { prepare: 0, usage: 0, kill: 0, release: 0 };
  const leaves = (k: TaskKey): { supervisor: string; rank: string } => ({
    supervisor: path.join(base, taskName(k), 'supervisor'),
    rank: path.join(base, taskName(k), 'rank'),
  });
  const memLeaves = (k: TaskKey): { supervisor: string; rank: string } | undefined =>
    memBase ? { supervisor: path.join(memBase, taskName(k), 'supervisor'), rank: path.join(memBase, taskName(k), 'rank') } : undefined;

  const containment: RankContainment = {
    async prepare(spec: TaskSpec): Promise<SpecCgroupRecord | null> {
      calls.prepare++;
      if (opts.failPrepare !== undefined) throw new Error(opts.failPrepare);
      const l = leaves(spec);
      mkdirSync(l.supervisor, { recursive: true });
      if (!opts.missingRankDir) mkdirSync(l.rank, { recursive: true });
      const rec: SpecCgroupRecord = { supervisor: [l.supervisor], rank: [l.rank], killFile: opts.noKillFile ? null : path.join(l.rank, 'cgroup.kill') };
      if (opts.deviceRules) rec.devices = { dir: l.rank, rules: opts.deviceRules };
      const m = memLeaves(spec);
      if (m) {
        mkdirSync(m.supervisor, { recursive: true });
        mkdirSync(m.rank, { recursive: true });
        if (opts.v1MemoryBytes) writeFileSync(path.join(m.rank, 'memory.limit_in_bytes'), String(opts.v1MemoryBytes));
        rec.supervisor.push(m.supervisor);
        rec.rank.push(m.rank);
      }
      return rec;
    },
    async usage(key: TaskKey): Promise<TaskUsage | null> {
      calls.usage++;
      const l = leaves(key);
      if (!existsSync(l.rank)) return null;
      const m = memLeaves(key);
      return {
        cpuUsec: readNumber(path.join(l.rank, 'cpu.stat'), 'usage_usec'),
        memoryPeakBytes: m ? readNumber(path.join(m.rank, 'memory.max_usage_in_bytes')) : null,
        oomKills: m ? readNumber(path.join(m.rank, 'memory.oom_control'), 'oom_kill') : null,
      };
    },
    async kill(key: TaskKey): Promise<void> {
      calls.kill++;
      const l = leaves(key);
      if (existsSync(l.rank)) writeFileSync(path.join(l.rank, 'cgroup.kill'), '1');
    },
    async release(key: TaskKey): Promise<void> {
      calls.release++;
      removeTree(path.join(base, taskName(key)));
      if (memBase) removeTree(path.join(memBase, taskName(key)));
    },
  };
  return { containment, base, leaves, pidsIn, calls };
}
