/**
 * The agent's RankContainment: what the runner asks around each rank's life, made from the
 * CgroupManager (where the cgroups are and what they enforce), the device rules (devices.ts: the
 * rank's own GPUs' device files and the baseline) and the CPU allocation (cpus.ts: a share of its
 * GPUs' NUMA node, not overlapping other ranks while CPUs last). Limits the host does not enforce
 * are left out (the agent said so at start); a job's memory or process limit falls back to the
 * agent's default (runner.defaultMemoryGiBPerRank, runner.defaultMaxProcesses; 0: unlimited).
 */
import type { Logger } from 'pino';
import path from 'node:path';
import type { SpecCgroupRecord, SpecDevicesRecord } from '../records.js';
import type { TaskKey, TaskSpec, TaskUsage } from '../types.js';
import { readOptional } from './cgroup-files.js';
import { allocateCpus, cpuTopologyFromGpus, parseCpuList } from './cpus.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { writeV1DeviceRules } from './device-program.js';
import { deviceRuleError, deviceRules, formatDeviceRule, rankDeviceRequest, type DeviceFile, type DeviceRule } from './devices.js';
import type { DeviceApplier } from './fs-manager.js';
import type { CgroupManager, RankContainment, RankLimits } from './types.js';

/** A GPU as the agent's inventory has it (only what containment reads). */
export interface ContainedGpu {
  index: number;
  vendor: string;
  numaNode: number;
  minorNumber?: number | null;
}

export interface RankContainmentOptions {
  manager: CgroupManager;
  /** The node's GPUs from the latest probe (empty before the first). */
  gpus: () => readonly ContainedGpu[];
  /** Each NUMA node's online CPUs (node-cpus.ts). */
  nodeCpus: ReadonlyMap<number, readonly number[]>;
  /** The node's device files (device-scan.ts), read at each start. */
  scanDevices: () => Promise<DeviceFile[]>;
  /** runner.extraDevicePaths. */
  extraDevicePaths: readonly string[];
  /** runner.defaultMemoryGiBPerRank in bytes; 0: unlimited. */
  defaultMemoryBytes: number;
  /** runner.defaultMaxProcesses; 0: unlimited. */
  defaultMaxProcesses: number;
  log: Pick<Logger, 'warn' | 'info'>;
  /**
   * The device programs the manager's applier left for the supervisor (createDeferredDevices): the
   * v2 rank leaf's rules go into spec.json `cgroup.devices`, and the supervisor attaches them.
   */
  deferredDevices?: DeferredDevices;
}

/** A DeviceApplier that leaves v2 device programs to the rank's supervisor, and what it left. */
export interface DeferredDevices {
  applier: DeviceApplier;
  /** The program left for one of these rank dirs (taken: asked once), if any. */
  take(rankDirs: readonly string[]): SpecDevicesRecord | undefined;
}

/**
 * The agent's device applier: on v2 it only records the rules, which the rank's supervisor attaches
 * before the rank starts (the native one in-process; the Node one with gantry-devices), so the
 * agent forks no helper per rank; on a v1-only host it writes devices.deny/devices.allow itself.
 */
export function createDeferredDevices(timeoutMs: number): DeferredDevices {
  const pending = new Map<string, string[]>();
  return {
    async applier(dirs: { v2: string | null; v1: string | null }, rules: DeviceRule[]): Promise<void> {
      rules.forEach((r, i) => {
        const bad = deviceRuleError(r);
        if (bad !== null) throw new InvalidArgumentError(`devices[${i}]`, bad);
      });
      if (dirs.v2 !== null) pending.set(dirs.v2, rules.map(formatDeviceRule));
      else if (dirs.v1 !== null) await writeV1DeviceRules(dirs.v1, rules);
      else throw new InvalidArgumentError('devices', 'the rank has neither a v2 cgroup nor a v1 devices cgroup');
    },
    take(rankDirs) {
      for (const dir of rankDirs) {
        const rules = pending.get(dir);
        if (rules) {
          pending.delete(dir);
          return { dir, rules, timeoutMs };
        }
      }
      return undefined;
    },
  };
}

/** RankContainment, plus what the agent tells it after adopting ranks from an earlier agent. */
export interface AgentRankContainment extends RankContainment {
  /** Adopted running ranks keep their CPUs (read back from their cpuset cgroups). */
  adopted(keys: readonly TaskKey[]): Promise<void>;
}

/** Waits between tries to remove a finished rank's cgroups. */
const RELEASE_RETRIES_MS = [100, 250, 500, 1000, 2000, 5000];

const keyOf = (k: TaskKey): string => `${k.jobId}\0${k.rank}\0${k.epoch}`;

export function createRankContainment(o: RankContainmentOptions): AgentRankContainment {
  const enforced = o.manager.layout.enforced;
  /** CPUs each contained rank holds, so the next one does not overlap them while CPUs last. */
  const held = new Map<string, number[]>();

  /** A rank adopted from an earlier agent holds the cpuset its cgroup says. */
  const heldFromDisk = async (key: TaskKey): Promise<number[] | undefined> => {
    const found = await o.manager.find(key);
    for (const dir of found?.rank ?? []) {
      const text = await readOptional(path.join(dir, 'cpuset.cpus'));
      if (text !== null && text.trim() !== '') return parseCpuList(text, 'cpuset.cpus');
    }
    return undefined;
  };

  /**
   * Removes a finished rank's cgroups and frees its CPUs. Its supervisor may still be writing its
   * last record (remove refuses while the supervisor leaf holds it), so this tries again a few times.
   */
  const releaseSoon = (key: TaskKey, attempt = 0): void => {
    held.delete(keyOf(key));
    o.manager.remove(key).catch((e: unknown) => {
      if (attempt < RELEASE_RETRIES_MS.length) setTimeout(() => releaseSoon(key, attempt + 1), RELEASE_RETRIES_MS[attempt]).unref();
      else o.log.warn({ job: key.jobId, rank: key.rank, epoch: key.epoch, err: (e as Error).message }, 'cannot remove the rank\'s cgroups; they go at forget');
    });
  };

  return {
    async prepare(spec: TaskSpec): Promise<SpecCgroupRecord | null> {
      const gpuIndexes = spec.gpus ?? [];
      const memoryBytes = spec.resources?.memoryBytes || o.defaultMemoryBytes;
      const maxProcesses = spec.resources?.maxProcesses || o.defaultMaxProcesses;
      const limits: RankLimits = {
        memoryBytes: enforced.memory && memoryBytes > 0 ? memoryBytes : null,
        maxProcesses: enforced.pids && maxProcesses > 0 ? maxProcesses : null,
        cpus: null,
        mems: null,
        devices: null,
      };
      if (enforced.cpuset) {
        const topology = cpuTopologyFromGpus(o.gpus(), o.nodeCpus);
        const alloc = allocateCpus(topology, [...held.values()], { gpuIndexes, cpuBinding: spec.resources?.cpuBinding ?? 'numa' });
        if (alloc) {
          limits.cpus = alloc.cpus;
          limits.mems = alloc.mems;
          // Held at once, before anything awaits: the ranks of a gang are prepared concurrently.
          held.set(keyOf(spec), alloc.cpus);
          if (alloc.note) o.log.info({ job: spec.jobId, rank: spec.rank, note: alloc.note }, 'rank cpuset');
        }
      }
      if (enforced.devices) {
        const gpus = o.gpus();
        // An AMD GPU's minorNumber is its render node's (renderD<minor>), from the KFD topology.
        const renderMinors = new Map(gpus.filter((g) => g.vendor === 'amd' && typeof g.minorNumber === 'number').map((g) => [g.index, g.minorNumber as number] as const));
        const { request, missing } = rankDeviceRequest(gpus, gpuIndexes, o.extraDevicePaths, renderMinors);
        const result = deviceRules(await o.scanDevices(), request);
        const absent = [...missing, ...result.missing];
        if (absent.length > 0) o.log.warn({ job: spec.jobId, rank: spec.rank, missing: absent }, 'device files the rank would get are unknown or absent');
        limits.devices = result.rules;
      }
      let cgroups: Awaited<ReturnType<CgroupManager["create"]>>;
      try {
        cgroups = await o.manager.create(spec, limits);
      } catch (e) {
        held.delete(keyOf(spec));
        throw e;
      }
      const devices = o.deferredDevices?.take(cgroups.rank);
      return { supervisor: cgroups.supervisor, rank: cgroups.rank, killFile: cgroups.killFile, ...(devices ? { devices } : {}) };
    },
    async usage(key: TaskKey): Promise<TaskUsage | null> {
      if (!(await o.manager.find(key))) return null;
      const u = await o.manager.usage(key);
      // Read once the rank ended: its cgroups are not needed any more (forget, much later, may only
      // come at the next reconnection).
      releaseSoon(key);
      return { cpuUsec: u.cpuUsec, memoryPeakBytes: u.memoryPeakBytes, oomKills: u.oomKills };
    },
    async kill(key: TaskKey): Promise<void> {
      await o.manager.kill(key);
    },
    async release(key: TaskKey): Promise<void> {
      held.delete(keyOf(key));
      await o.manager.remove(key);
    },
    async adopted(keys: readonly TaskKey[]): Promise<void> {
      for (const k of keys) {
        const cpus = await heldFromDisk(k).catch(() => undefined);
        if (cpus) held.set(keyOf(k), cpus);
      }
    },
  };
}
