/**
 * The job spec's `resources` (per-rank limits the agent applies with cgroups) and `onTimeLimit`:
 * their types, bounds and validation. Pure.
 */
import { InvalidArgumentError } from '../errors/index.js';

/** What each rank is limited to (`resources`); a limit left out is the agent's default (unlimited unless configured). */
export interface ResourcesSpec {
  /** Memory limit of each rank's cgroup, in GiB (the rank is OOM-killed past it). */
  memoryGiBPerRank?: number;
  /** Most processes (tasks) each rank may have at once (pids.max). */
  maxProcesses?: number;
  /** `numa`: each rank's CPUs are those of its GPUs' NUMA node; `none`: no cpuset. */
  cpuBinding: CpuBinding;
}

export type CpuBinding = 'numa' | 'none';

/** At the time limit: `fail` ends the job in state `timeout`; `requeue` puts it back in the queue (no retry used). */
export type OnTimeLimit = 'fail' | 'requeue';

/** Bounds of `resources` (1 MiB to 64 TiB of memory; at most Linux's pid_max ceiling of processes). */
export const RESOURCE_LIMITS = {
  memoryGiBPerRankMin: 1 / 1024,
  memoryGiBPerRankMax: 65_536,
  maxProcessesMax: 4_194_304,
} as const;

/** `resources.memoryGiBPerRank` in bytes (whole bytes; 0 when absent: the agent's default). */
export function memoryBytesPerRank(spec: { resources?: ResourcesSpec | undefined }): number {
  const gib = spec.resources?.memoryGiBPerRank;
  return gib === undefined ? 0 : Math.round(gib * 1024 ** 3);
}

/** Default of `resources.cpuBinding`. */
export const DEFAULT_CPU_BINDING: CpuBinding = 'numa';

/** `resources` as the schema parsed it, bounds checked (errors name `resources.<key>`) and defaults filled in. */
export function resourcesSpec(r: { memoryGiBPerRank?: number | undefined; maxProcesses?: number | undefined; cpuBinding?: CpuBinding | undefined }): ResourcesSpec {
  const resources: ResourcesSpec = { cpuBinding: r.cpuBinding ?? DEFAULT_CPU_BINDING };
  const gib = r.memoryGiBPerRank;
  if (gib !== undefined) {
    const L = RESOURCE_LIMITS;
    if (!(gib >= L.memoryGiBPerRankMin)) throw new InvalidArgumentError('resources.memoryGiBPerRank', `must be a positive number of GiB, at least 1 MiB (${L.memoryGiBPerRankMin}); got ${gib}`);
    if (gib > L.memoryGiBPerRankMax) throw new InvalidArgumentError('resources.memoryGiBPerRank', `must be at most ${L.memoryGiBPerRankMax} GiB; got ${gib}`);
    resources.memoryGiBPerRank = gib;
  }
  if (r.maxProcesses !== undefined) resources.maxProcesses = r.maxProcesses;
  return resources;
}
