/**
 * The CgroupManager over the host's real cgroup hierarchies: `<base>/<jobId>.<rank>.<epoch>/{supervisor,rank}`
 * in every hierarchy base.ts plans, limits on the rank leaf only.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskKey } from '../types.js';
import { joinCgroupPath, parseTaskCgroupName, planBase, taskCgroupName, type BasePlan, type HierarchyPlan } from './base.js';
import { exists, listDirs, mkdirOne, readOptional, readPids, readText, readTreePids, rmdirOne, subCgroups, writeText } from './cgroup-files.js';
import { CgroupError } from './errors.js';
import { validateRankLimits } from './limits.js';
import type { DetectedLayout } from './layout.js';
import { flatKeyedValue, formatCpuList, singleValue } from './parse-usage.js';
import type { CgroupLayout, CgroupManager, DeviceRule, RankCgroups, RankLimits, RankUsage } from './types.js';

/** Applies device rules to a rank leaf (the BPF program on v2, devices.allow/deny on v1); written elsewhere. */
export type DeviceApplier = (dirs: { v2: string | null; v1: string | null }, rules: DeviceRule[]) => Promise<void>;

export interface FsCgroupManagerOptions {
  /** From detectLayout() (or detectHostLayout()). */
  detected: DetectedLayout;
  /** `runner.cgroupRoot`: a path below each hierarchy's mount; default null (the agent's own cgroup). */
  cgroupRoot?: string | null;
  /** Device rules' applier; without one, devices are not enforced (layout.enforced.devices is null). */
  applyDevices?: DeviceApplier;
  /** How long remove() waits for the rank leaf to empty (and its directories to go), ms; default 5000. */
  removeWaitMs?: number;
  /** How long kill() keeps sending SIGKILL to what is left in the rank leaves, ms; default 2000. */
  killWaitMs?: number;
  /** Poll period while waiting, ms; default 20. */
  pollMs?: number;
}

const SUPERVISOR = 'supervisor';
const RANK = 'rank';

interface TaskDirs {
  task: string[];
  supervisor: string[];
  rank: string[];
}

export class FsCgroupManager implements CgroupManager {
  readonly layout: CgroupLayout;
  readonly plan: BasePlan;
  private readonly applyDevices: DeviceApplier | null;
  private readonly removeWaitMs: number;
  private readonly killWaitMs: number;
  private readonly pollMs: number;
  private ready: Promise<void> | null = null;

  constructor(opts: FsCgroupManagerOptions) {
    const { layout } = opts.detected;
    this.applyDevices = opts.applyDevices ?? null;
    this.layout = { ...layout, v1Mounts: { ...layout.v1Mounts }, enforced: { ...layout.enforced, devices: this.applyDevices ? layout.enforced.devices : null } };
    this.plan = planBase(this.layout, opts.detected.own, opts.cgroupRoot ?? null);
    this.removeWaitMs = opts.removeWaitMs ?? 5000;
    this.killWaitMs = opts.killWaitMs ?? 2000;
    this.pollMs = opts.pollMs ?? 20;
  }

  /**
   * Makes `<base>` in every hierarchy, moves the agent into its own leaf when the plan says so and
   * enables the v2 controllers; once (create() calls it). `pid`: the process to move, default this one.
   */
  prepare(pid: number = process.pid): Promise<void> {
    this.ready ??= this.enterAgentLeaf(pid).catch((e: unknown) => {
      this.ready = null;
      throw e;
    });
    return this.ready;
  }

  private async enterAgentLeaf(pid: number): Promise<void> {
    for (const h of this.plan.hierarchies) await this.ensureDir(h, h.base);
    const v2 = this.v2();
    if (!v2) return;
    if (this.plan.agentLeaf !== null) {
      await this.ensureDir(v2, this.plan.agentLeaf);
      await writeText(`${v2.mountPoint}${this.plan.agentLeaf}/cgroup.procs`, String(pid));
    }
    if (this.plan.enable.length > 0) {
      for (const p of this.plan.enableIn) await this.enableControllers(`${v2.mountPoint}${p === '/' ? '' : p}`);
    }
  }

  private async enableControllers(dir: string): Promise<void> {
    const have = new Set(((await readOptional(`${dir}/cgroup.subtree_control`)) ?? '').split(/\s+/));
    const missing = this.plan.enable.filter((c) => !have.has(c));
    if (missing.length > 0) await writeText(`${dir}/cgroup.subtree_control`, missing.map((c) => `+${c}`).join(' '));
  }

  private v2(): HierarchyPlan | undefined {
    return this.plan.hierarchies.find((h) => h.version === 'v2');
  }

  /** Makes each missing directory of `path` below the mount; a v1 cpuset gets its parent's cpus and mems. */
  private ensureDir(h: HierarchyPlan, path: string): Promise<void> {
    return this.ensureBelow(h, '/', path.split('/').filter((p) => p !== ''));
  }

  /**
   * Makes `parts` below `from`, a cgroup known to exist (a rank's cgroups below the base prepare()
   * made): one mkdir each, not a walk from the hierarchy's root with an EEXIST at every level. A
   * new v1 cpuset cgroup gets its parent's cpus and mems. A base that went missing is made again.
   */
  private async ensureBelow(h: HierarchyPlan, from: string, parts: readonly string[]): Promise<void> {
    let rel = from;
    for (const part of parts) {
      const parent = `${h.mountPoint}${rel === '/' ? '' : rel}`;
      rel = joinCgroupPath(rel, part);
      const dir = `${h.mountPoint}${rel}`;
      let made: boolean;
      try {
        made = await mkdirOne(dir);
      } catch (e) {
        if (from === '/' || (e as { cause?: NodeJS.ErrnoException }).cause?.code !== 'ENOENT') throw e;
        await this.ensureDir(h, rel);
        continue;
      }
      if (h.version === 'v1' && h.controllers.includes('cpuset')) {
        for (const f of ['cpuset.cpus', 'cpuset.mems']) {
          if (made || ((await readOptional(`${dir}/${f}`)) ?? '').trim() === '') await writeText(`${dir}/${f}`, (await readText(`${parent}/${f}`)).trim());
        }
      }
    }
  }

  private dirs(key: TaskKey): TaskDirs {
    const name = taskCgroupName(key);
    const task = this.plan.hierarchies.map((h) => `${h.mountPoint}${joinCgroupPath(h.base, name)}`);
    return { task, supervisor: task.map((d) => `${d}/${SUPERVISOR}`), rank: task.map((d) => `${d}/${RANK}`) };
  }

  private cgroupsOf(d: TaskDirs): RankCgroups {
    const v2 = this.plan.hierarchies.findIndex((h) => h.version === 'v2');
    return { supervisor: d.supervisor, rank: d.rank, killFile: v2 >= 0 ? `${d.rank[v2]}/cgroup.kill` : null };
  }

  async create(key: TaskKey, limits: RankLimits): Promise<RankCgroups> {
    const name = taskCgroupName(key);
    validateRankLimits(limits);
    await this.prepare();
    const d = this.dirs(key);
    const existed = await this.find(key);
    try {
      for (const [i, h] of this.plan.hierarchies.entries()) {
        const task = joinCgroupPath(h.base, name);
        await this.ensureBelow(h, h.base, [name, SUPERVISOR]);
        if (h.version === 'v2' && this.plan.enable.length > 0) await this.enableControllers(`${h.mountPoint}${task}`);
        await this.ensureBelow(h, task, [RANK]);
        await this.applyLimits(h, d.rank[i] ?? '', d.task[i] ?? '', limits);
      }
      if (this.applyDevices && this.layout.enforced.devices !== null && limits.devices !== null) {
        const v2 = this.plan.hierarchies.findIndex((h) => h.version === 'v2');
        const v1 = this.plan.hierarchies.findIndex((h) => h.version === 'v1' && h.controllers.includes('devices'));
        await this.applyDevices({ v2: v2 >= 0 ? (d.rank[v2] ?? null) : null, v1: v1 >= 0 ? (d.rank[v1] ?? null) : null }, limits.devices);
      }
    } catch (e) {
      // A first create that failed half-way leaves nothing behind (an existing task's cgroups stay).
      if (existed === null) await this.remove(key).catch(() => undefined);
      throw e;
    }
    return this.cgroupsOf(d);
  }

  private async applyLimits(h: HierarchyPlan, rank: string, task: string, limits: RankLimits): Promise<void> {
    const has = (c: string): boolean => h.controllers.includes(c);
    if (h.version === 'v1') {
      if (has('memory')) {
        const memsw = `${rank}/memory.memsw.limit_in_bytes`;
        const withSwap = await exists(memsw);
        // memsw may never be below the memory limit: lift it first, set the memory limit, then memsw.
        if (withSwap) await writeText(memsw, '-1');
        await writeText(`${rank}/memory.limit_in_bytes`, limits.memoryBytes === null ? '-1' : String(limits.memoryBytes));
        if (withSwap && limits.memoryBytes !== null) await writeText(memsw, String(limits.memoryBytes));
      }
      if (has('pids')) await writeText(`${rank}/pids.max`, limits.maxProcesses === null ? 'max' : String(limits.maxProcesses));
      if (has('cpuset')) {
        await writeText(`${rank}/cpuset.mems`, limits.mems === null ? (await readText(`${task}/cpuset.mems`)).trim() : formatCpuList(limits.mems));
        await writeText(`${rank}/cpuset.cpus`, limits.cpus === null ? (await readText(`${task}/cpuset.cpus`)).trim() : formatCpuList(limits.cpus));
      }
      return;
    }
    if (has('memory')) {
      await writeText(`${rank}/memory.max`, limits.memoryBytes === null ? 'max' : String(limits.memoryBytes));
      if (await exists(`${rank}/memory.swap.max`)) await writeText(`${rank}/memory.swap.max`, limits.memoryBytes === null ? 'max' : '0');
    }
    if (has('pids')) await writeText(`${rank}/pids.max`, limits.maxProcesses === null ? 'max' : String(limits.maxProcesses));
    if (has('cpuset')) {
      // v2: an empty list (a bare newline) means the parent's effective set.
      await writeText(`${rank}/cpuset.mems`, limits.mems === null ? '\n' : formatCpuList(limits.mems));
      await writeText(`${rank}/cpuset.cpus`, limits.cpus === null ? '\n' : formatCpuList(limits.cpus));
    }
  }

  async find(key: TaskKey): Promise<RankCgroups | null> {
    const d = this.dirs(key);
    const first = d.task[0];
    if (first === undefined || !(await exists(first))) return null;
    return this.cgroupsOf(d);
  }

  async pids(key: TaskKey): Promise<number[]> {
    const all = new Set<number>();
    for (const dir of this.dirs(key).rank) for (const p of await readTreePids(dir)) all.add(p);
    return [...all].sort((a, b) => a - b);
  }

  async kill(key: TaskKey): Promise<void> {
    const d = this.dirs(key);
    const killFile = this.cgroupsOf(d).killFile;
    if (killFile !== null && (await exists(killFile))) await writeText(killFile, '1');
    // What is left (no cgroup.kill, or a process in a v1 leaf only): SIGKILL, again for what forks meanwhile.
    const until = Date.now() + this.killWaitMs;
    for (;;) {
      const pids = await this.pids(key);
      if (pids.length === 0) return;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      if (Date.now() >= until) return;
      await sleep(this.pollMs);
    }
  }

  async usage(key: TaskKey): Promise<RankUsage> {
    const d = this.dirs(key);
    const at = (version: 'v1' | 'v2', controller: string | null): string | null => {
      const i = this.plan.hierarchies.findIndex((h) => h.version === version && (controller === null || h.controllers.includes(controller)));
      return i >= 0 ? (d.rank[i] ?? null) : null;
    };
    const usage: RankUsage = { cpuUsec: null, memoryPeakBytes: null, oomKills: null };
    if (this.layout.enforced.cpuUsage === 'v2') {
      const dir = at('v2', null);
      if (dir) usage.cpuUsec = flatKeyedValue(await readOptional(`${dir}/cpu.stat`), 'usage_usec');
    } else if (this.layout.enforced.cpuUsage === 'v1') {
      const dir = at('v1', 'cpuacct');
      const ns = dir ? singleValue(await readOptional(`${dir}/cpuacct.usage`)) : null;
      usage.cpuUsec = ns === null ? null : Math.floor(ns / 1000);
    }
    if (this.layout.enforced.memory === 'v2') {
      const dir = at('v2', 'memory');
      if (dir) {
        usage.memoryPeakBytes = singleValue(await readOptional(`${dir}/memory.peak`));
        usage.oomKills = flatKeyedValue(await readOptional(`${dir}/memory.events`), 'oom_kill');
      }
    } else if (this.layout.enforced.memory === 'v1') {
      const dir = at('v1', 'memory');
      if (dir) {
        usage.memoryPeakBytes = singleValue(await readOptional(`${dir}/memory.max_usage_in_bytes`));
        usage.oomKills = flatKeyedValue(await readOptional(`${dir}/memory.oom_control`), 'oom_kill');
      }
    }
    return usage;
  }

  async remove(key: TaskKey): Promise<void> {
    const d = this.dirs(key);
    // A live supervisor means the task is not finished: refuse before touching its rank.
    for (const dir of d.supervisor) {
      const pids = await readPids(dir);
      if (pids.length > 0) throw new CgroupError(dir, 'rmdir', `the supervisor leaf still holds pid(s) ${pids.join(', ')}: the task is not finished`);
    }
    await this.kill(key);
    const until = Date.now() + this.removeWaitMs;
    for (let left = await this.pids(key); left.length > 0; left = await this.pids(key)) {
      if (Date.now() >= until) throw new CgroupError(d.rank[0] ?? '', 'wait', `pid(s) ${left.join(', ')} still in the rank leaf ${this.removeWaitMs} ms after the kill`);
      await sleep(this.pollMs);
    }
    for (const [i, task] of d.task.entries()) {
      const rank = d.rank[i] ?? '';
      for (const dir of [...(await subCgroups(rank)), rank, d.supervisor[i] ?? '', task]) await this.rmdirWaiting(dir, until);
    }
  }

  /** rmdir, tried again while EBUSY (a dying process's cgroup lingers briefly after its exit). */
  private async rmdirWaiting(dir: string, until: number): Promise<void> {
    for (;;) {
      if ((await rmdirOne(dir)) !== 'busy') return;
      if (Date.now() >= until) {
        const pids = await readPids(dir);
        throw new CgroupError(dir, 'rmdir', `still busy ${this.removeWaitMs} ms after the kill${pids.length > 0 ? ` (pids ${pids.join(', ')})` : ''}`);
      }
      await sleep(this.pollMs);
    }
  }

  async list(): Promise<TaskKey[]> {
    const seen = new Map<string, TaskKey>();
    for (const h of this.plan.hierarchies) {
      for (const name of await listDirs(`${h.mountPoint}${h.base}`)) {
        const key = parseTaskCgroupName(name);
        if (key) seen.set(name, key);
      }
    }
    return [...seen.values()].sort((a, b) => (a.jobId !== b.jobId ? (a.jobId < b.jobId ? -1 : 1) : a.rank - b.rank || a.epoch - b.epoch));
  }
}
