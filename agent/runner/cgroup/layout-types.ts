/**
 * The cgroup layout's types (see types.ts, which re-exports them): kept apart so the pure detection
 * (layout.ts), planning (base.ts) and description (describe.ts) import nothing that does I/O.
 */

/** Which kind of host this is. */
export type CgroupLayoutKind = 'v2' | 'hybrid' | 'v1' | 'none';

/** A controller (or feature) and where it is enforced. */
export type Enforced = 'v2' | 'v1' | null;

/** What the host can enforce, detected once at start (from /proc/self/mountinfo and /proc/self/cgroup). */
export interface CgroupLayout {
  kind: CgroupLayoutKind;
  /** Mount point of the v2 (unified) hierarchy, if mounted. */
  v2Mount: string | null;
  /** Mount point of each v1 hierarchy by controller (memory, pids, cpuset, devices, cpuacct ...). */
  v1Mounts: Record<string, string>;
  /** Where each feature is enforced; null: not on this host (said at start, log line and metric). */
  enforced: {
    kill: Enforced; // cgroup.kill (v2 only)
    devices: Enforced; // v2: BPF_PROG_TYPE_CGROUP_DEVICE; v1: devices.allow/deny
    memory: Enforced;
    pids: Enforced;
    cpuset: Enforced;
    cpuUsage: Enforced; // v2 cpu.stat usage_usec (present without the cpu controller); v1 cpuacct.usage
  };
}
