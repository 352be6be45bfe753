/**
 * Detection of the host's cgroup layout, pure: from the texts of /proc/self/mountinfo, /proc/self/cgroup
 * and the v2 root's cgroup.controllers, which hierarchies exist, where each feature is enforced and
 * where this process sits in each hierarchy. No I/O (host.ts reads the files).
 */
import { ParseError } from '../../../shared/errors/index.js';
import type { CgroupLayout, CgroupLayoutKind, Enforced } from './layout-types.js';

/** The v1 controllers containment uses (the others are mounted but ignored). */
export const V1_CONTROLLERS = ['memory', 'pids', 'cpuset', 'devices', 'cpuacct'] as const;

/** One cgroup mount from /proc/self/mountinfo. */
export interface CgroupMount {
  version: 'v1' | 'v2';
  mountPoint: string;
  /** The hierarchy path mounted there (field 4, "/" unless inside a cgroup namespace or a bind mount). */
  root: string;
  /** v1: the controllers of the hierarchy (named hierarchies such as name=systemd have none); v2: []. */
  controllers: string[];
}

/**
 * Where this process sits in each hierarchy, as a path below the hierarchy's mount point
 * (so `<mount><path>` is its directory; "/" is the mount's own directory).
 */
export interface OwnCgroups {
  v2: string | null;
  /** By v1 controller (memory, pids, ...); only controllers that are mounted. */
  v1: Record<string, string>;
}

export interface DetectInput {
  /** Text of /proc/self/mountinfo. */
  mountinfo: string;
  /** Text of /proc/self/cgroup. */
  procCgroup: string;
  /** Text of `<v2 mount>/cgroup.controllers` (null: no v2 mount, or unreadable). */
  v2Controllers: string | null;
  /** Whether a device-rule applier is given (devices are enforced only then). */
  devicesApplier: boolean;
}

export interface DetectedLayout {
  layout: CgroupLayout;
  own: OwnCgroups;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** The cgroup and cgroup2 mounts in a mountinfo text; other mounts are skipped. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  mountinfo.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (sep < 6 || fields.length < sep + 4) {
      throw new ParseError('/proc/self/mountinfo', `line ${i + 1} is not "id parent dev root mountpoint opts ... - fstype source superopts": ${JSON.stringify(line)}`);
    }
    const fsType = fields[sep + 1] ?? '';
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') return;
    const root = unescapeMountPath(fields[3] ?? '/');
    const mountPoint = unescapeMountPath(fields[4] ?? '');
    if (fsType === 'cgroup2') {
      mounts.push({ version: 'v2', mountPoint, root, controllers: [] });
      return;
    }
    const superOptions = (fields[sep + 3] ?? '').split(',');
    const controllers = superOptions.filter((o) => o !== 'rw' && o !== 'ro' && !o.includes('=') && isControllerName(o));
    mounts.push({ version: 'v1', mountPoint, root, controllers });
  });
  return mounts;
}

/** The v1 mount options that are not controller names. */
const V1_NON_CONTROLLER_OPTIONS = new Set(['noprefix', 'clone_children', 'xattr', 'cpuset_v2_mode', 'favordynmods', 'all', 'none']);

function isControllerName(o: string): boolean {
  return /^[a-z_]+$/.test(o) && !V1_NON_CONTROLLER_OPTIONS.has(o);
}

/** /proc/self/cgroup: `id:controllers:path` per line; id 0 with no controllers is v2. */
export function parseProcCgroup(text: string): { v2: string | null; v1: Record<string, string> } {
  let v2: string | null = null;
  const v1: Record<string, string> = {};
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) throw new ParseError('/proc/self/cgroup', `line ${i + 1} is not "id:controllers:path": ${JSON.stringify(line)}`);
    const [, id, list, path] = m as unknown as [string, string, string, string];
    if (!path.startsWith('/')) throw new ParseError('/proc/self/cgroup', `line ${i + 1}: the path ${JSON.stringify(path)} is not absolute`);
    if (id === '0' && list === '') {
      v2 = path;
      return;
    }
    for (const c of list.split(',')) if (c !== '' && !c.includes('=')) v1[c] = path;
  });
  return { v2, v1 };
}

/** A cgroup path (from /proc/self/cgroup) as a path below a mount whose root is `root`; null: not below it. */
export function pathBelowMount(path: string, root: string): string | null {
  if (root === '/') return path;
  if (path === root) return '/';
  if (path.startsWith(root + '/')) return path.slice(root.length);
  return null;
}

/** The whole detection: layout kind, mounts, where each feature is enforced, and the own cgroups. */
export function detectLayout(input: DetectInput): DetectedLayout {
  const mounts = parseCgroupMounts(input.mountinfo);
  const procs = parseProcCgroup(input.procCgroup);
  const v2 = mounts.find((m) => m.version === 'v2' && pathBelowMount(procs.v2 ?? '/', m.root) !== null) ?? mounts.find((m) => m.version === 'v2') ?? null;
  const v1Mounts: Record<string, string> = {};
  const own: OwnCgroups = { v2: null, v1: {} };
  for (const m of mounts) {
    if (m.version !== 'v1') continue;
    for (const c of m.controllers) {
      if (v1Mounts[c] !== undefined) continue; // the first mount of a hierarchy wins
      const procPath = procs.v1[c];
      const below = procPath === undefined ? '/' : pathBelowMount(procPath, m.root);
      if (below === null) continue; // a bind mount of another part of the hierarchy: we are not in it
      v1Mounts[c] = m.mountPoint;
      own.v1[c] = below;
    }
  }
  if (v2) own.v2 = pathBelowMount(procs.v2 ?? '/', v2.root) ?? '/';
  const v1Count = Object.keys(v1Mounts).length;
  const kind: CgroupLayoutKind = v2 ? (v1Count > 0 ? 'hybrid' : 'v2') : v1Count > 0 ? 'v1' : 'none';
  const v2Ctl = new Set((input.v2Controllers ?? '').split(/\s+/).filter((s) => s !== ''));
  const controller = (name: string): Enforced => (v2 && v2Ctl.has(name) ? 'v2' : v1Mounts[name] !== undefined ? 'v1' : null);
  const layout: CgroupLayout = {
    kind,
    v2Mount: v2 ? v2.mountPoint : null,
    v1Mounts,
    enforced: {
      kill: v2 ? 'v2' : null,
      devices: !input.devicesApplier ? null : v2 ? 'v2' : v1Mounts['devices'] !== undefined ? 'v1' : null,
      memory: controller('memory'),
      pids: controller('pids'),
      cpuset: controller('cpuset'),
      cpuUsage: v2 ? 'v2' : v1Mounts['cpuacct'] !== undefined ? 'v1' : null,
    },
  };
  return { layout, own };
}
