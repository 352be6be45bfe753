/**
 * Types of rank containment (agent/runner/cgroup): the layout of the host's cgroup hierarchies,
 * what a rank is limited to, the cgroups one rank gets, and what was measured of it.
 *
 * One rank = one "task" cgroup per hierarchy that holds a controller, split like Slurm's step and
 * task cgroups:
 *
 *   <base>/<task>/supervisor   the rank's supervisor (outside every limit: a kill or an OOM in the
 *                              rank never takes the process that records its exit)
 *   <base>/<task>/rank         the rank and everything it starts: limits, device program, kill
 *
 * `<task>` is `<jobId>.<rank>.<epoch>`; `<base>` is `runner.cgroupRoot`, else the agent's own cgroup
 * (never a hierarchy's root).
 */
import type { TaskKey, TaskSpec, TaskUsage } from '../types.js';
import type { SpecCgroupRecord } from '../records.js';
import type { DeviceRule } from './devices.js';

// The layout's types live in layout-types.ts (imported by the pure detection and planning, which
// must not reach records.ts's I/O through this file); re-exported here unchanged.
import type { CgroupLayout } from './layout-types.js';
export type { CgroupLayout, CgroupLayoutKind, Enforced } from './layout-types.js';

/** A device the rank may open, as a cgroup device rule (defined in the pure devices.ts, which may not import this file). */
export type { DeviceRule } from './devices.js';

/** What one rank is limited to; null: not limited (or not enforced on this host). */
export interface RankLimits {
  memoryBytes: number | null;
  maxProcesses: number | null;
  /** CPU ids for cpuset.cpus; null: every CPU the parent has. */
  cpus: number[] | null;
  /** NUMA nodes for cpuset.mems; null: every node the parent has. */
  mems: number[] | null;
  /** The devices the rank may open (everything else is denied); null: no device rules. */
  devices: DeviceRule[] | null;
}

/**
 * The cgroup directories made for one rank, absolute paths, one per hierarchy (the v2 one first
 * where there is one). Recorded in spec.json (`cgroup`) for the supervisors.
 */
export interface RankCgroups {
  /** The supervisor moves itself into each of these first. */
  supervisor: string[];
  /** The rank is moved into each of these before it execs (the native supervisor's child writes "0"
   *  to their cgroup.procs; the Node supervisor joins them around its spawn and leaves again). */
  rank: string[];
  /** `<v2 rank dir>/cgroup.kill`, written "1" when a stop's grace ends and for leftovers; null without v2. */
  killFile: string | null;
}

/** What was measured of a rank, read from its cgroups when it ends; null where not measured. */
export interface RankUsage {
  cpuUsec: number | null;
  memoryPeakBytes: number | null;
  oomKills: number | null;
}

/** The rank cgroups' side of the runner; the filesystem one and an in-memory twin. */
export interface CgroupManager {
  readonly layout: CgroupLayout;
  /** Makes (or finds again) the task's cgroups and applies the limits. Throws naming what failed. */
  create(key: TaskKey, limits: RankLimits): Promise<RankCgroups>;
  /** The task's cgroups if they exist (adoption after an agent restart). */
  find(key: TaskKey): Promise<RankCgroups | null>;
  /** cgroup.kill on the rank leaf (v2), else SIGKILL to every pid listed in its leaves. */
  kill(key: TaskKey): Promise<void>;
  /** The pids still in the rank leaf (empty when none, or when the cgroups are gone). */
  pids(key: TaskKey): Promise<number[]>;
  usage(key: TaskKey): Promise<RankUsage>;
  /** Removes the task's cgroups (rank leaf empty first: killed and waited for); missing is fine. */
  remove(key: TaskKey): Promise<void>;
  /** Every task that has cgroups under the base (for adoption and cleanup). */
  list(): Promise<TaskKey[]>;
}

/**
 * What the runner asks of containment around a rank's life (TaskRunnerOptions.containment). The
 * agent builds it from a CgroupManager, the device rules and the CPU allocation; without it ranks
 * run uncontained, as before.
 */
export interface RankContainment {
  /** Before spec.json is written: makes the rank's cgroups and applies its limits; null: none for this rank. */
  prepare(spec: TaskSpec): Promise<SpecCgroupRecord | null>;
  /** When the runner sees the rank finished (also one adopted from disk): what its cgroups measured. */
  usage(key: TaskKey): Promise<TaskUsage | null>;
  /** The runner's own last-resort kill (its supervisor is gone or did not act): everything in the rank leaf. */
  kill(key: TaskKey): Promise<void>;
  /** At forget: removes the rank's cgroups. */
  release(key: TaskKey): Promise<void>;
}
