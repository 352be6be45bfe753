/**
 * Pure parser of the KFD sysfs topology (/sys/class/kfd/kfd/topology/nodes/<n>/{properties,
 * io_links/<m>/properties}). No I/O: the reader hands over file contents.
 *
 * io_link `type`: 2 = PCIe, 11 = XGMI (amdgpu's CRAT IO link types). GPU nodes are those with
 * simd_count > 0; GPU index = position among GPU nodes in KFD node order. A GPU's NUMA node is the
 * CPU node its PCIe io_link leads to.
 */
import type { LinkGroup, LinkMatrix } from '../../../shared/domain/index.js';

export interface KfdNode {
  id: number;
  isGpu: boolean;
  /** GPU index (position among GPU nodes); -1 for CPU nodes. */
  gpuIndex: number;
  properties: Record<string, string>;
  /** "0000:63:00.0" from domain + location_id, for GPU nodes. */
  pciBusId: string;
  hiveId: string;
  numaNode: number;
}

export interface KfdLink {
  from: number;
  to: number;
  type: 'pcie' | 'xgmi' | 'other';
  weight: number;
  maxBandwidthMBps: number;
}

export interface KfdTopology {
  nodes: KfdNode[];
  links: KfdLink[];
  /** GPU-by-GPU matrix: X, XGMI, PCIE (via the CPU). */
  linkMatrix: LinkMatrix;
  /** XGMI-connected GPUs (kind 'nvlink': the vendor-neutral "fast GPU link" group), then NUMA. */
  linkGroups: LinkGroup[];
}

/** "key value" lines. */
export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (m && m[1] !== undefined) out[m[1]] = (m[2] ?? '').trim();
  }
  return out;
}

/**
 * The minor number of a KFD GPU node's DRM render node, /dev/dri/renderD<minor> (its
 * `drm_render_minor` property): what a rank's device rules allow for that GPU. null: not a GPU,
 * or not reported.
 */
export function renderMinorOf(node: KfdNode): number | null {
  if (!node.isGpu) return null;
  const v = node.properties['drm_render_minor'];
  if (v === undefined || !/^\d+$/.test(v.trim())) return null;
  const n = Number(v.trim());
  return n > 0 ? n : null;
}

export interface KfdFiles {
  /** node id -> its properties text */
  nodes: Map<number, string>;
  /** node id -> texts of its io_links/<m>/properties */
  ioLinks: Map<number, string[]>;
}

export function parseKfdTopology(files: KfdFiles): KfdTopology {
  const ids = [...files.nodes.keys()].sort((a, b) => a - b);
  const links: KfdLink[] = [];
  for (const id of ids) {
    for (const text of files.ioLinks.get(id) ?? []) {
      const p = parseProperties(text);
      const type = p['type'] === '11' ? 'xgmi' : p['type'] === '2' ? 'pcie' : 'other';
      links.push({
        from: Number(p['node_from'] ?? id),
        to: Number(p['node_to'] ?? -1),
        type,
        weight: Number(p['weight'] ?? 0),
        maxBandwidthMBps: Number(p['max_bandwidth'] ?? 0),
      });
    }
  }
  let gpuCount = 0;
  const nodes: KfdNode[] = ids.map((id) => {
    const properties = parseProperties(files.nodes.get(id) ?? '');
    const isGpu = Number(properties['simd_count'] ?? 0) > 0;
    const loc = Number(properties['location_id'] ?? 0);
    const domain = Number(properties['domain'] ?? 0);
    const bus = (loc >> 8) & 0xff;
    const dev = (loc >> 3) & 0x1f;
    const fn = loc & 0x7;
    const pciBusId = isGpu
      ? `${domain.toString(16).padStart(4, '0')}:${bus.toString(16).padStart(2, '0')}:${dev.toString(16).padStart(2, '0')}.${fn}`.toUpperCase()
      : '';
    const cpuPeer = links.find((l) => l.from === id && l.type === 'pcie' && files.nodes.has(l.to) && !isGpuText(files.nodes.get(l.to)));
    return {
      id,
      isGpu,
      gpuIndex: isGpu ? gpuCount++ : -1,
      properties,
      pciBusId,
      hiveId: properties['hive_id'] && properties['hive_id'] !== '0' ? properties['hive_id'] : '',
      numaNode: isGpu ? (cpuPeer?.to ?? -1) : id,
    };
  });
  const gpus = nodes.filter((n) => n.isGpu);
  const devices = gpus.map((g) => `GPU${g.gpuIndex}`);
  const rows = gpus.map((a) =>
    gpus.map((b) => {
      if (a.id === b.id) return 'X';
      const l = links.find((x) => x.from === a.id && x.to === b.id);
      if (l?.type === 'xgmi') return 'XGMI';
      return 'PCIE';
    }),
  );

  // XGMI components.
  const groups: LinkGroup[] = [];
  const seen = new Set<number>();
  for (const g of gpus) {
    if (seen.has(g.id)) continue;
    const comp: number[] = [];
    const stack = [g.id];
    seen.add(g.id);
    while (stack.length > 0) {
      const cur = stack.pop() as number;
      comp.push(cur);
      for (const l of links) {
        if (l.type === 'xgmi' && l.from === cur && !seen.has(l.to)) {
          seen.add(l.to);
          stack.push(l.to);
        }
      }
    }
    if (comp.length > 1) {
      const idx = comp.map((id) => nodes.find((n) => n.id === id)?.gpuIndex ?? -1).filter((i) => i >= 0);
      groups.push({ kind: 'nvlink', gpus: idx.sort((a, b) => a - b) });
    }
  }
  const byNuma = new Map<number, number[]>();
  for (const g of gpus) {
    if (g.numaNode < 0) continue;
    const l = byNuma.get(g.numaNode) ?? [];
    l.push(g.gpuIndex);
    byNuma.set(g.numaNode, l);
  }
  for (const [, idx] of [...byNuma].sort((a, b) => a[0] - b[0])) if (idx.length > 1) groups.push({ kind: 'numa', gpus: idx });

  return { nodes, links, linkMatrix: { devices, rows }, linkGroups: groups };
}

function isGpuText(text: string | undefined): boolean {
  return Number(parseProperties(text ?? '')['simd_count'] ?? 0) > 0;
}
