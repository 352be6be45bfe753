/**
 * Which device files a rank may open, as cgroup device rules. Pure: the device files come from
 * `scanDevices()` (device-scan.ts), the rank's GPUs from the caller; no I/O here.
 *
 * What a rank gets (everything else is denied, including every other GPU's device file):
 *
 * - The baseline every process needs, as runc's defaults, rwm: /dev/null (1:3), zero (1:5), full
 *   (1:7), random (1:8), urandom (1:9), tty (5:0), ptmx (5:2) and the pseudo-terminals (136:*).
 *   These numbers are fixed by the kernel, so the baseline does not depend on the scan. Not in it:
 *   runc's blanket `c *:* m` / `b *:* m` (a rank has no reason to mknod), and /dev/fuse (mounting a
 *   FUSE filesystem is not what a training rank does; a site that wants it lists it in
 *   `runner.extraDevicePaths`).
 * - NVIDIA (only for a rank with NVIDIA GPUs), rw: its own GPUs' /dev/nvidia<minor> (the minor
 *   from `<minor_number>`, not the index), /dev/nvidiactl, /dev/nvidia-uvm and
 *   /dev/nvidia-uvm-tools (what the NVIDIA container toolkit gives a "compute, utility"
 *   container). Not /dev/nvidia-modeset (display only). Of /dev/nvidia-caps/: only nvidia-cap2,
 *   the MIG "monitor" capability, read-only (lets nvidia-smi and NVML list MIG instances);
 *   nvidia-cap1 ("config": create and destroy MIG instances, an administrator's act) and the
 *   per-instance capabilities are denied: ranks get whole GPUs, not MIG slices.
 *   /dev/nvidia-caps-imex-channels/channel* (IMEX, multi-node NVLink on GB200): rw.
 * - AMD (only for a rank with AMD GPUs), rw: /dev/kfd and its own GPUs' render nodes
 *   /dev/dri/renderD<minor> (the minor is the KFD node's `drm_render_minor`); not /dev/dri/card*.
 * - RDMA, rw, for every rank (with GPUs or not: MPI over InfiniBand needs it too):
 *   /dev/infiniband/uverbs* and /dev/infiniband/rdma_cm (what NCCL, UCX and libibverbs open).
 *   Not umad* / issm* (management datagrams and the subnet manager capability: fabric
 *   administration).
 * - Whatever `extraPaths` names (config), rw: an exact path, or `<dir>/*` for every device file
 *   scanned under that directory.
 *
 * Device files the request needs but the scan did not find are listed in `missing` (a GPU's device
 * file, an extra path); the caller decides whether that fails the start.
 */

/** A device the rank may open, as a cgroup device rule (re-exported by types.ts). */
export interface DeviceRule {
  type: 'c' | 'b';
  major: number;
  /** null: every minor of that major. */
  minor: number | null;
  /** Subset of "rwm". */
  access: string;
}

/** One device file of the node, as stat(2) sees it. */
export interface DeviceFile {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
}

export interface DeviceRequest {
  /** The rank's NVIDIA GPUs' minor numbers (/dev/nvidia<minor>). */
  nvidiaMinors: readonly number[];
  /** The rank's AMD GPUs' render minors (/dev/dri/renderD<minor>). */
  amdRenderMinors: readonly number[];
  /** From config (`runner.extraDevicePaths`): exact paths, or `<dir>/*`. */
  extraPaths: readonly string[];
}

export interface DeviceRulesResult {
  rules: DeviceRule[];
  /** What the request needs that the scan lacks, one line each (e.g. "/dev/nvidia3 (GPU minor 3)"). */
  missing: string[];
}

/** runc's default allow list, less its blanket mknod rules. */
export const BASELINE_RULES: readonly DeviceRule[] = Object.freeze([
  { type: 'c', major: 1, minor: 3, access: 'rwm' }, // /dev/null
  { type: 'c', major: 1, minor: 5, access: 'rwm' }, // /dev/zero
  { type: 'c', major: 1, minor: 7, access: 'rwm' }, // /dev/full
  { type: 'c', major: 1, minor: 8, access: 'rwm' }, // /dev/random
  { type: 'c', major: 1, minor: 9, access: 'rwm' }, // /dev/urandom
  { type: 'c', major: 5, minor: 0, access: 'rwm' }, // /dev/tty
  { type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { type: 'c', major: 136, minor: null, access: 'rwm' }, // /dev/pts/*
] as DeviceRule[]);

/** Node-wide device files a GPU or RDMA rank gets, by path, with the access. */
const SHARED: ReadonlyArray<{ match: (path: string) => boolean; access: string; vendor: 'nvidia' | 'amd' | 'rdma' }> = [
  { match: (p) => p === '/dev/nvidiactl', access: 'rw', vendor: 'nvidia' },
  { match: (p) => p === '/dev/nvidia-uvm', access: 'rw', vendor: 'nvidia' },
  { match: (p) => p === '/dev/nvidia-uvm-tools', access: 'rw', vendor: 'nvidia' },
  { match: (p) => p === '/dev/nvidia-caps/nvidia-cap2', access: 'r', vendor: 'nvidia' },
  { match: (p) => /^\/dev\/nvidia-caps-imex-channels\/channel\d+$/.test(p), access: 'rw', vendor: 'nvidia' },
  { match: (p) => p === '/dev/kfd', access: 'rw', vendor: 'amd' },
  { match: (p) => /^\/dev\/infiniband\/uverbs\d+$/.test(p) || p === '/dev/infiniband/rdma_cm', access: 'rw', vendor: 'rdma' },
];

function ruleOf(f: DeviceFile, access: string): DeviceRule {
  return { type: f.type, major: f.major, minor: f.minor, access };
}

/** Merges rules for the same device (access united, in rwm order); a wildcard rule covers its major's exact ones. */
function merged(rules: readonly DeviceRule[]): DeviceRule[] {
  const out: DeviceRule[] = [];
  const at = new Map<string, number>();
  const unite = (a: string, b: string): string => ['r', 'w', 'm'].filter((c) => a.includes(c) || b.includes(c)).join('');
  for (const r of rules) {
    const key = `${r.type}:${r.major}:${r.minor ?? '*'}`;
    const i = at.get(key);
    if (i === undefined) {
      at.set(key, out.length);
      out.push({ ...r, access: unite(r.access, '') });
    } else {
      const prev = out[i]!;
      out[i] = { ...prev, access: unite(prev.access, r.access) };
    }
  }
  return out.filter((r) => {
    if (r.minor === null) return true;
    const any = at.get(`${r.type}:${r.major}:*`);
    if (any === undefined) return true;
    const wide = out[any]!.access;
    return ![...r.access].every((c) => wide.includes(c));
  });
}

/** The device rules of one rank. Pure. */
export function deviceRules(devices: readonly DeviceFile[], request: DeviceRequest): DeviceRulesResult {
  const byPath = new Map(devices.map((d) => [d.path, d] as const));
  const rules: DeviceRule[] = [...BASELINE_RULES];
  const missing: string[] = [];
  const wants = {
    nvidia: request.nvidiaMinors.length > 0,
    amd: request.amdRenderMinors.length > 0,
    rdma: true,
  };

  for (const minor of request.nvidiaMinors) {
    const path = `/dev/nvidia${minor}`;
    const f = byPath.get(path);
    if (f) rules.push(ruleOf(f, 'rw'));
    else missing.push(`${path} (GPU minor ${minor})`);
  }
  if (wants.nvidia && !byPath.has('/dev/nvidiactl')) missing.push('/dev/nvidiactl');
  for (const minor of request.amdRenderMinors) {
    const path = `/dev/dri/renderD${minor}`;
    const f = byPath.get(path);
    if (f) rules.push(ruleOf(f, 'rw'));
    else missing.push(`${path} (GPU render minor ${minor})`);
  }
  if (wants.amd && !byPath.has('/dev/kfd')) missing.push('/dev/kfd');
  for (const f of devices) {
    const s = SHARED.find((x) => x.match(f.path));
    if (s && wants[s.vendor]) rules.push(ruleOf(f, s.access));
  }

  for (const extra of request.extraPaths) {
    if (extra.endsWith('/*')) {
      const dir = extra.slice(0, -1);
      const under = devices.filter((d) => d.path.startsWith(dir) && !d.path.slice(dir.length).includes('/'));
      if (under.length === 0) missing.push(`${extra} (runner.extraDevicePaths: no device file there)`);
      for (const f of under) rules.push(ruleOf(f, 'rw'));
      continue;
    }
    const f = byPath.get(extra);
    if (f) rules.push(ruleOf(f, 'rw'));
    else missing.push(`${extra} (runner.extraDevicePaths: not a device file)`);
  }
  return { rules: merged(rules), missing };
}

/** A rule as the helper's argument: `c:195:0:rw`, `c:136:*:rwm`. */
export function formatDeviceRule(r: DeviceRule): string {
  return `${r.type}:${r.major}:${r.minor === null ? '*' : r.minor}:${r.access}`;
}

/** Why a rule is not well formed, or null. */
export function deviceRuleError(r: DeviceRule): string | null {
  if (r.type !== 'c' && r.type !== 'b') return `type ${JSON.stringify(r.type)} is not c or b`;
  if (!Number.isInteger(r.major) || r.major < 0 || r.major > 0xffffffff) return `major ${String(r.major)} is not a device number`;
  if (r.minor !== null && (!Number.isInteger(r.minor) || r.minor < 0 || r.minor > 0xffffffff)) return `minor ${String(r.minor)} is not a device number`;
  if (!/^(?!.*(.).*\1)[rwm]{1,3}$/.test(r.access)) return `access ${JSON.stringify(r.access)} is not a subset of rwm`;
  return null;
}

/** Linux's dev_t split (glibc's gnu_dev_major/minor): 12+ bits of major, 20 bits of minor. */
export function splitDeviceNumber(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major & 0xffffffffn), minor: Number(minor & 0xffffffffn) };
}

/** Whether `rules` let a process open `device` for `access` (a subset of "rwm"): what the device program decides. */
export function rulesAllow(rules: readonly DeviceRule[], device: { type: 'c' | 'b'; major: number; minor: number }, access: string): boolean {
  return rules.some(
    (r) => r.type === device.type && r.major === device.major && (r.minor === null || r.minor === device.minor) && [...access].every((c) => r.access.includes(c)),
  );
}

/**
 * The device request of a rank from the agent's GPU facts: its NVIDIA GPUs' minor numbers
 * (GpuInfo.minorNumber) and its AMD GPUs' render minors (the KFD node's `drm_render_minor`, by GPU
 * index). A GPU of the rank whose number is unknown, or that the node does not have, is in `missing`.
 */
export function rankDeviceRequest(
  gpus: ReadonlyArray<{ index: number; vendor: string; minorNumber?: number | null }>,
  gpuIndexes: readonly number[],
  extraPaths: readonly string[],
  amdRenderMinors: ReadonlyMap<number, number> = new Map(),
): { request: DeviceRequest; missing: string[] } {
  const byIndex = new Map(gpus.map((g) => [g.index, g] as const));
  const nvidiaMinors: number[] = [];
  const renderMinors: number[] = [];
  const missing: string[] = [];
  for (const i of gpuIndexes) {
    const g = byIndex.get(i);
    if (!g) missing.push(`GPU ${i}: not on this node`);
    else if (g.vendor === 'amd') {
      const m = amdRenderMinors.get(i);
      if (m === undefined) missing.push(`GPU ${i}: render minor unknown`);
      else renderMinors.push(m);
    } else if (typeof g.minorNumber === 'number') nvidiaMinors.push(g.minorNumber);
    else missing.push(`GPU ${i}: minor number unknown (nvidia-smi reported none)`);
  }
  return { request: { nvidiaMinors, amdRenderMinors: renderMinors, extraPaths }, missing };
}
