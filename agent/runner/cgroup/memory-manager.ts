/**
 * The in-memory twin of the filesystem CgroupManager: the same answers, no kernel. Processes are
 * numbers the test puts into a leaf (enter()); kill() empties the rank leaf as cgroup.kill would.
 */
import type { TaskKey } from '../types.js';
import { parseTaskCgroupName, taskCgroupName } from './base.js';
import { CgroupError } from './errors.js';
import { validateRankLimits } from './limits.js';
import type { CgroupLayout, CgroupManager, RankCgroups, RankLimits, RankUsage } from './types.js';

interface TaskState {
  limits: RankLimits;
  supervisor: Set<number>;
  rank: Set<number>;
  usage: RankUsage;
}

export interface MemoryCgroupManagerOptions {
  /** The layout it claims; default a pure v2 host enforcing everything but devices, mounted at /sys/fs/cgroup. */
  layout?: CgroupLayout;
  /** The base path the twin's cgroups are named under (only in the paths it returns); default "/sys/fs/cgroup/gantry". */
  baseDir?: string;
}

export const MEMORY_TWIN_LAYOUT: CgroupLayout = {
  kind: 'v2',
  v2Mount: '/sys/fs/cgroup',
  v1Mounts: {},
  enforced: { kill: 'v2', devices: null, memory: 'v2', pids: 'v2', cpuset: 'v2', cpuUsage: 'v2' },
};

export class MemoryCgroupManager implements CgroupManager {
  readonly layout: CgroupLayout;
  private readonly baseDir: string;
  private readonly tasks = new Map<string, TaskState>();

  constructor(opts: MemoryCgroupManagerOptions = {}) {
    this.layout = opts.layout ?? MEMORY_TWIN_LAYOUT;
    this.baseDir = opts.baseDir ?? '/sys/fs/cgroup/gantry';
  }

  private cgroupsOf(name: string): RankCgroups {
    const dir = `${this.baseDir}/${name}`;
    return { supervisor: [`${dir}/supervisor`], rank: [`${dir}/rank`], killFile: this.layout.enforced.kill === 'v2' ? `${dir}/rank/cgroup.kill` : null };
  }

  async create(key: TaskKey, limits: RankLimits): Promise<RankCgroups> {
    const name = taskCgroupName(key);
    validateRankLimits(limits);
    const known = this.tasks.get(name);
    if (known) known.limits = limits;
    else this.tasks.set(name, { limits, supervisor: new Set(), rank: new Set(), usage: { cpuUsec: 0, memoryPeakBytes: 0, oomKills: 0 } });
    return this.cgroupsOf(name);
  }

  async find(key: TaskKey): Promise<RankCgroups | null> {
    const name = taskCgroupName(key);
    return this.tasks.has(name) ? this.cgroupsOf(name) : null;
  }

  async kill(key: TaskKey): Promise<void> {
    this.tasks.get(taskCgroupName(key))?.rank.clear();
  }

  async pids(key: TaskKey): Promise<number[]> {
    return [...(this.tasks.get(taskCgroupName(key))?.rank ?? [])].sort((a, b) => a - b);
  }

  async usage(key: TaskKey): Promise<RankUsage> {
    const t = this.tasks.get(taskCgroupName(key));
    return t ? { ...t.usage } : { cpuUsec: null, memoryPeakBytes: null, oomKills: null };
  }

  async remove(key: TaskKey): Promise<void> {
    const name = taskCgroupName(key);
    const t = this.tasks.get(name);
    if (!t) return;
    if (t.supervisor.size > 0) {
      throw new CgroupError(`${this.baseDir}/${name}/supervisor`, 'rmdir', `the supervisor leaf still holds pid(s) ${[...t.supervisor].join(', ')}: the task is not finished`);
    }
    this.tasks.delete(name);
  }

  async list(): Promise<TaskKey[]> {
    return [...this.tasks.keys()]
      .map((n) => parseTaskCgroupName(n))
      .filter((k): k is TaskKey => k !== null)
      .sort((a, b) => (a.jobId !== b.jobId ? (a.jobId < b.jobId ? -1 : 1) : a.rank - b.rank || a.epoch - b.epoch));
  }

  // --- the twin's own handles (what a process or the kernel would do) ---

  /** Puts a pid into a task's leaf (as writing cgroup.procs would); throws when the task has no cgroups. */
  enter(key: TaskKey, leaf: 'supervisor' | 'rank', pid: number): void {
    const t = this.tasks.get(taskCgroupName(key));
    if (!t) throw new CgroupError(`${this.baseDir}/${taskCgroupName(key)}/${leaf}/cgroup.procs`, 'write', 'no such cgroup');
    (leaf === 'rank' ? t.supervisor : t.rank).delete(pid);
    t[leaf].add(pid);
  }

  /** A pid leaving a leaf (its process exited). */
  exit(key: TaskKey, pid: number): void {
    const t = this.tasks.get(taskCgroupName(key));
    t?.rank.delete(pid);
    t?.supervisor.delete(pid);
  }

  /** What the kernel would have counted. */
  setUsage(key: TaskKey, usage: Partial<RankUsage>): void {
    const t = this.tasks.get(taskCgroupName(key));
    if (t) t.usage = { ...t.usage, ...usage };
  }

  /** The limits last applied (for tests). */
  limitsOf(key: TaskKey): RankLimits | null {
    return this.tasks.get(taskCgroupName(key))?.limits ?? null;
  }
}
