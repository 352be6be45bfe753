/**
 * Where the rank cgroups live, pure: `<base>` in each hierarchy containment uses, whether the agent
 * must first move into a leaf of its own (cgroup v2's no-internal-processes rule), and which
 * controllers must be enabled in which cgroup.subtree_control. No I/O (fs-manager.ts acts on it).
 */
import { ConfigError, InvalidArgumentError } from '../../../shared/errors/index.js';
import type { OwnCgroups } from './layout.js';
import type { CgroupLayout } from './layout-types.js';

/** A task's key (agent/runner/types.ts's TaskKey, spelled out so this pure module imports no shell). */
export interface TaskKeyFields {
  jobId: string;
  rank: number;
  epoch: number;
}

/** The directory made under a hierarchy's root when the agent sits at that root and no cgroupRoot is set. */
export const ROOT_FALLBACK = '/gantry';
/** The agent's own leaf under `<base>` (v2, when controllers must be enabled in `<base>`). */
export const AGENT_LEAF = 'agent';

/** One hierarchy containment makes rank cgroups in. */
export interface HierarchyPlan {
  version: 'v1' | 'v2';
  mountPoint: string;
  /** v1: the controllers of this mount containment uses (memory, pids, cpuset, cpuacct, devices); v2: those enabled for ranks. */
  controllers: string[];
  /** `<base>`: a path below the mount ("/a/b"), never "/". */
  base: string;
}

export interface BasePlan {
  /** The v2 hierarchy first where there is one. */
  hierarchies: HierarchyPlan[];
  /** Path below the v2 mount the agent moves itself into before anything else; null: it stays where it is. */
  agentLeaf: string | null;
  /** The v2 controllers to enable ("memory", "pids", "cpuset"); empty: nothing to enable. */
  enable: string[];
  /** Paths below the v2 mount, top down, whose cgroup.subtree_control gets `enable` (empty when `enable` is). */
  enableIn: string[];
}

/** The v1 controller that carries each feature. */
const V1_FEATURE_CONTROLLER = { memory: 'memory', pids: 'pids', cpuset: 'cpuset', cpuUsage: 'cpuacct', devices: 'devices' } as const;
/** The v2 controllers that must be enabled for a feature (kill, devices and cpu.stat need none). */
const V2_FEATURE_CONTROLLER = { memory: 'memory', pids: 'pids', cpuset: 'cpuset' } as const;

/** Checks `runner.cgroupRoot`: an absolute path below each hierarchy's mount, not the root itself. */
export function validateCgroupRoot(value: string): string {
  const key = 'runner.cgroupRoot';
  if (typeof value !== 'string' || !value.startsWith('/')) throw new ConfigError(key, `must be an absolute path such as /gantry.slice/agent, got ${JSON.stringify(value)}`);
  const parts = value.split('/').filter((p) => p !== '');
  if (parts.length === 0) throw new ConfigError(key, 'must not be a hierarchy\'s root "/" (rank cgroups are never made at a root)');
  for (const p of parts) {
    if (p === '.' || p === '..') throw new ConfigError(key, `must not contain "." or ".." components, got ${JSON.stringify(value)}`);
    if (p.includes('\0') || p.includes('\n')) throw new ConfigError(key, `holds a NUL or newline character: ${JSON.stringify(value)}`);
  }
  return '/' + parts.join('/');
}

/** `parent` + "/" + `name` for cgroup paths ("/" + "x" is "/x"). */
export function joinCgroupPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** Every prefix of a path, top down: "/a/b" gives ["/", "/a", "/a/b"]. */
function prefixes(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  const out = ['/'];
  for (let i = 1; i <= parts.length; i++) out.push('/' + parts.slice(0, i).join('/'));
  return out;
}

function baseFor(own: string | undefined, cgroupRoot: string | null): string {
  if (cgroupRoot !== null) return cgroupRoot;
  if (own === undefined || own === '/') return ROOT_FALLBACK;
  return own;
}

/** Decides `<base>` per hierarchy, the agent's leaf and the controllers to enable. */
export function planBase(layout: CgroupLayout, own: OwnCgroups, cgroupRoot: string | null = null): BasePlan {
  const root = cgroupRoot === null ? null : validateCgroupRoot(cgroupRoot);
  const hierarchies: HierarchyPlan[] = [];
  let agentLeaf: string | null = null;
  let enable: string[] = [];
  let enableIn: string[] = [];
  if (layout.v2Mount !== null) {
    enable = (Object.keys(V2_FEATURE_CONTROLLER) as (keyof typeof V2_FEATURE_CONTROLLER)[])
      .filter((f) => layout.enforced[f] === 'v2')
      .map((f) => V2_FEATURE_CONTROLLER[f]);
    // An agent started again inside the leaf an earlier one moved into (`<base>/agent`) is already home.
    const inLeaf = root === null && own.v2 !== null && own.v2 !== `/${AGENT_LEAF}` && own.v2.endsWith(`/${AGENT_LEAF}`);
    const ownV2 = inLeaf && own.v2 !== null ? own.v2.slice(0, -(AGENT_LEAF.length + 1)) : (own.v2 ?? '/');
    const base = baseFor(ownV2, root);
    hierarchies.push({ version: 'v2', mountPoint: layout.v2Mount, controllers: enable, base });
    if (enable.length > 0) {
      // Without a cgroupRoot, the parents of the agent's own cgroup are its delegator's (systemd's
      // Delegate=): only `<base>` is ours. With one, or at the root, the whole path down to `<base>`.
      enableIn = root === null && ownV2 !== '/' ? [base] : prefixes(base);
      // No internal processes: a non-root cgroup that enables controllers for its children holds
      // no process, so an agent sitting in one of them moves into a leaf of its own first.
      if (ownV2 !== '/' && enableIn.includes(ownV2)) agentLeaf = joinCgroupPath(ownV2, AGENT_LEAF);
    }
  }
  const byMount = new Map<string, HierarchyPlan>();
  for (const feature of Object.keys(V1_FEATURE_CONTROLLER) as (keyof typeof V1_FEATURE_CONTROLLER)[]) {
    if (layout.enforced[feature] !== 'v1') continue;
    const controller = V1_FEATURE_CONTROLLER[feature];
    const mountPoint = layout.v1Mounts[controller];
    if (mountPoint === undefined) continue;
    const known = byMount.get(mountPoint);
    if (known) {
      if (!known.controllers.includes(controller)) known.controllers.push(controller);
      continue;
    }
    const plan: HierarchyPlan = { version: 'v1', mountPoint, controllers: [controller], base: baseFor(own.v1[controller], root) };
    byMount.set(mountPoint, plan);
    hierarchies.push(plan);
  }
  return { hierarchies, agentLeaf, enable, enableIn };
}

/** The name of a task's cgroup: `<jobId>.<rank>.<epoch>`. */
export function taskCgroupName(key: TaskKeyFields): string {
  if (typeof key.jobId !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(key.jobId) || key.jobId === '.' || key.jobId.includes('..')) {
    throw new InvalidArgumentError('jobId', `must be 1-128 characters of [A-Za-z0-9._-] without "..", got ${JSON.stringify(key.jobId)}`);
  }
  for (const f of ['rank', 'epoch'] as const) {
    if (!Number.isSafeInteger(key[f]) || key[f] < 0) throw new InvalidArgumentError(f, `must be a non-negative integer, got ${JSON.stringify(key[f])}`);
  }
  return `${key.jobId}.${key.rank}.${key.epoch}`;
}

/** A task cgroup's name parsed back (split from the right: job ids may hold dots); null: not a task's. */
export function parseTaskCgroupName(name: string): TaskKeyFields | null {
  const m = /^([A-Za-z0-9._-]{1,128})\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/.exec(name);
  if (!m) return null;
  const [, jobId, rank, epoch] = m as unknown as [string, string, string, string];
  if (jobId === '.' || jobId.includes('..')) return null;
  const key = { jobId, rank: Number(rank), epoch: Number(epoch) };
  return Number.isSafeInteger(key.rank) && Number.isSafeInteger(key.epoch) ? key : null;
}
