/**
 * Pure parser of `nvidia-smi topo -m` and the LinkGroups derived from it. No I/O.
 *
 * The matrix is tab-separated. Columns are found by header name, not position: the header may be
 * wrapped in ANSI escapes (`ESC[4m ... ESC[0m`), NIC columns and the NIC legend come and go, and the
 * trailing columns (`CPU Affinity`, `NUMA Affinity`, `GPU NUMA ID`) depend on the driver. nvidia-smi
 * prints an extra empty cell between NUMA Affinity and GPU NUMA ID, and leaves cells empty when it
 * has no value (e.g. CPU Affinity of a GPU whose NUMA node has no CPUs), so cells are split on
 * single tabs and the tail is matched by name.
 */
import { ParseError } from '../../../shared/errors/index.js';
import type { LinkGroup, LinkMatrix } from '../../../shared/domain/index.js';

export interface TopoDeviceAffinity {
  device: string;
  cpuAffinity: string;
  /** -1 when N/A or absent. */
  numaAffinity: number;
  /** -1 when N/A or absent. */
  gpuNumaId: number;
}

export interface NvidiaTopo {
  matrix: LinkMatrix;
  affinity: TopoDeviceAffinity[];
  /** NIC legend: NIC0 -> mlx5_0 */
  nics: Record<string, string>;
}

const SOURCE = 'nvidia-smi topo -m';
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;
const DEVICE = /^(GPU|NIC|CPU|NVS|DPU)\d+$/;

function cells(line: string): string[] {
  return line.replace(ANSI, '').split('\t').map((c) => c.trim());
}

function numaValue(s: string | undefined): number {
  if (s === undefined) return -1;
  const m = /^\d+/.exec(s.trim());
  return m ? Number(m[0]) : -1;
}

export function parseTopoMatrix(text: string): NvidiaTopo {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const headerAt = lines.findIndex((l) => {
    const c = cells(l).filter((x) => x !== '');
    return c.length > 0 && c.every((x) => DEVICE.test(x) || /affinity|numa/i.test(x)) && c.some((x) => DEVICE.test(x));
  });
  if (headerAt < 0) throw new ParseError(SOURCE, 'no matrix header (GPU0 ...) found');
  const header = cells(lines[headerAt] ?? '');
  // Drop the empty corner cell(s) before the first column name.
  while (header.length > 0 && header[0] === '') header.shift();
  const devices: string[] = [];
  for (const h of header) {
    if (DEVICE.test(h)) devices.push(h);
    else break;
  }
  const named = header.slice(devices.length).filter((h) => h !== '');
  const cpuCol = named.findIndex((h) => /^cpu affinity$/i.test(h));
  const numaCol = named.findIndex((h) => /^numa affinity$/i.test(h));
  const gpuNumaCol = named.findIndex((h) => /^gpu numa id$/i.test(h));

  const rows: string[][] = [];
  const affinity: TopoDeviceAffinity[] = [];
  const rowIndex = new Map<string, number>();
  for (let i = headerAt + 1; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (raw.trim() === '') break;
    const c = cells(raw);
    const label = c[0] ?? '';
    if (!DEVICE.test(label)) break;
    const links = c.slice(1, 1 + devices.length);
    if (links.length < devices.length) throw new ParseError(SOURCE, `row ${label} has ${links.length} of ${devices.length} link cells`);
    const tail = c.slice(1 + devices.length);
    // nvidia-smi writes "<numa>\t\t<gpu numa id>": one empty cell more than there are names.
    if (tail.length === named.length + 1 && numaCol >= 0 && tail[numaCol + 1] === '') tail.splice(numaCol + 1, 1);
    rowIndex.set(label, rows.length);
    rows.push(links.map((x) => x.toUpperCase() === 'X' ? 'X' : x));
    affinity.push({
      device: label,
      cpuAffinity: cpuCol >= 0 ? (tail[cpuCol] ?? '') : '',
      numaAffinity: numaCol >= 0 ? numaValue(tail[numaCol]) : -1,
      gpuNumaId: gpuNumaCol >= 0 ? numaValue(gpuNumaCol === named.length - 1 ? tail[tail.length - 1] : tail[gpuNumaCol]) : -1,
    });
  }
  // Keep the matrix square over the devices that have rows, in header order.
  const present = devices.filter((d) => rowIndex.has(d));
  if (present.length === 0) throw new ParseError(SOURCE, 'matrix has no rows');
  const cols = present.map((d) => devices.indexOf(d));
  const squareRows = present.map((d) => {
    const row = rows[rowIndex.get(d) ?? 0] ?? [];
    return cols.map((j) => row[j] ?? '');
  });

  const nics: Record<string, string> = {};
  for (const l of lines) {
    const m = /^\s*(NIC\d+)\s*:\s*(\S+)\s*$/.exec(l);
    if (m && m[1] && m[2]) nics[m[1]] = m[2];
  }
  return { matrix: { devices: present, rows: squareRows }, affinity, nics };
}

/**
 * Link groups, finest first: GPUs joined by NVLink (connected components over NV# entries), then
 * GPUs behind one PCIe switch (PIX/PXB), then GPUs on one NUMA node. Groups of one GPU are left
 * out; each group lists GPU indices in ascending order.
 */
export function deriveLinkGroups(topo: { matrix: LinkMatrix; affinity?: readonly TopoDeviceAffinity[] }): LinkGroup[] {
  const { devices, rows } = topo.matrix;
  const gpuCols: Array<{ col: number; gpu: number }> = [];
  devices.forEach((d, col) => {
    const m = /^GPU(\d+)$/.exec(d);
    if (m && m[1] !== undefined) gpuCols.push({ col, gpu: Number(m[1]) });
  });
  const components = (linked: (a: string) => boolean): number[][] => {
    const parent = new Map<number, number>();
    const find = (x: number): number => {
      let r = x;
      while (parent.get(r) !== r) r = parent.get(r) ?? r;
      return r;
    };
    for (const g of gpuCols) parent.set(g.gpu, g.gpu);
    for (const a of gpuCols) {
      for (const b of gpuCols) {
        if (a.gpu >= b.gpu) continue;
        const cell = rows[a.col]?.[b.col] ?? '';
        if (linked(cell)) {
          const ra = find(a.gpu);
          const rb = find(b.gpu);
          if (ra !== rb) parent.set(Math.max(ra, rb), Math.min(ra, rb));
        }
      }
    }
    const groups = new Map<number, number[]>();
    for (const g of gpuCols) {
      const r = find(g.gpu);
      const list = groups.get(r) ?? [];
      list.push(g.gpu);
      groups.set(r, list);
    }
    return [...groups.values()].filter((g) => g.length > 1).map((g) => g.sort((x, y) => x - y)).sort((x, y) => (x[0] ?? 0) - (y[0] ?? 0));
  };
  const out: LinkGroup[] = [];
  for (const gpus of components((c) => /^NV\d+$/i.test(c))) out.push({ kind: 'nvlink', gpus });
  for (const gpus of components((c) => c === 'PIX' || c === 'PXB')) out.push({ kind: 'pcie-switch', gpus });
  if (topo.affinity) {
    const byNuma = new Map<number, number[]>();
    for (const a of topo.affinity) {
      const m = /^GPU(\d+)$/.exec(a.device);
      if (!m || m[1] === undefined || a.numaAffinity < 0) continue;
      const list = byNuma.get(a.numaAffinity) ?? [];
      list.push(Number(m[1]));
      byNuma.set(a.numaAffinity, list);
    }
    for (const [, gpus] of [...byNuma].sort((x, y) => x[0] - y[0])) {
      if (gpus.length > 1) out.push({ kind: 'numa', gpus: gpus.sort((x, y) => x - y) });
    }
  }
  return out;
}
