/**
 * Pure parser of `nvidia-smi nvlink -s` (`--status`). No I/O.
 *
 *   GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-...)
 *   \t Link 0: 25 GB/s
 *   \t Link 1: <inactive>
 *   GPU 6: ... 
 *   NVML: Unable to retrieve NVLink information as all links are inactive
 *   Device does not have or support Nvlink
 *   ... not supported          (MIG mode: links unknown, not "no links"; issue 24)
 */
export interface NvlinkLink {
  link: number;
  active: boolean;
  /** Per-direction speed in GB/s; null when inactive. */
  speedGBps: number | null;
}

export interface NvlinkGpuStatus {
  index: number;
  name: string;
  uuid: string;
  links: NvlinkLink[];
  /** NVML said every link is inactive. */
  allInactive: boolean;
  /** The device has no NVLink. */
  unsupported: boolean;
  /**
   * NVML could not say (issue 24): "not supported" for a GPU that has NVLink, as `nvlink -s` prints
   * in MIG mode. The links are unknown, not absent: `links` stays empty and nothing is judged.
   */
  unknown: boolean;
}

const GPU_LINE = /^GPU (\d+): (.*?)(?: \(UUID: ([^)]+)\))?\s*$/;
const LINK_LINE = /^\s*Link (\d+): (.*?)\s*$/;

export function parseNvlinkStatus(text: string): NvlinkGpuStatus[] {
  const out: NvlinkGpuStatus[] = [];
  let cur: NvlinkGpuStatus | undefined;
  for (const raw of text.replace(/\r\n/g, '\n').split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (line.trim() === '') continue;
    const g = GPU_LINE.exec(line.trim());
    if (g) {
      cur = { index: Number(g[1]), name: g[2] ?? '', uuid: g[3] ?? '', links: [], allInactive: false, unsupported: false, unknown: false };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    const l = LINK_LINE.exec(line);
    if (l) {
      const value = l[2] ?? '';
      const speed = /^([\d.]+)\s*GB\/s/i.exec(value);
      cur.links.push({ link: Number(l[1]), active: speed !== null, speedGBps: speed ? Number(speed[1]) : null });
      continue;
    }
    if (/all links are inactive/i.test(line)) cur.allInactive = true;
    else if (/does not have or support nvlink/i.test(line)) cur.unsupported = true;
    else if (/not supported/i.test(line)) cur.unknown = true;
  }
  return out;
}

/** One GPU's NVLink state in words: `unknown` (NVML could not say), `no NVLink`, `all inactive`, or `<up> of <n> up`. */
export function nvlinkStateText(g: NvlinkGpuStatus): string {
  if (g.unknown) return 'unknown';
  if (g.unsupported) return 'no NVLink';
  if (g.allInactive) return 'all inactive';
  return `${g.links.filter((l) => l.active).length} of ${g.links.length} up`;
}
