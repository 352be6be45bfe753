/**
 * Pure parser of `amd-smi static --json` (issue 24): static facts (model, memory, PCI address,
 * serial, VBIOS/IFWI, NUMA node, driver) per GPU. No I/O. Three shapes are seen in real output: the
 * `{"gpu_data": [...]}` wrapper (AMD's MI210 example), a top-level list (the ROCm blog's MI300X
 * output), and the single-GPU object of the RX 6800 / RX 6700 XT captures. Measured values are
 * `{"value": N, "unit": "..."}`; "N/A" is absent.
 *
 * Field drift: the firmware image section is `vbios` in older releases and `ifwi` from ROCm 6.4 on;
 * the VBIOS version is its `part_number` (what rocm-smi prints as "VBIOS version"), else `version`.
 * `driver.version` reads like `Linuxversion7.0.0-38-generic(buildd@...)` in ROCm 7.2's output (the
 * amdgpu driver in the kernel, its /proc/version squeezed): the kernel release is taken from it.
 * Readings (`amd-smi metric`) are not parsed: no complete real capture exists; rocm-smi keeps them.
 */
import { ParseError } from '../../../shared/errors/index.js';
import type { FirmwareInfo, GpuInfo } from '../../../shared/domain/index.js';

export interface AmdSmiStatic {
  firmware: FirmwareInfo;
  /** linkRow empty, uuid '' (static names none); numaNode -1 where not reported. */
  gpus: GpuInfo[];
}

const SOURCE = 'amd-smi static --json';
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function at(o: unknown, path: string): unknown {
  let cur = o;
  for (const p of path.split('.')) {
    if (!isObj(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** Text at a path ('' for absent, N/A, or "(removed)"-style placeholders kept as they are). */
function text(o: unknown, path: string): string {
  const v = at(o, path);
  const raw = isObj(v) ? v['value'] : v;
  if (typeof raw !== 'string' && typeof raw !== 'number') return '';
  const t = String(raw).trim();
  return /^n\/a$/i.test(t) ? '' : t;
}

function int(o: unknown, path: string): number | null {
  const t = text(o, path);
  return /^-?\d+$/.test(t) ? Number(t) : null;
}

/** `{"value": 16368, "unit": "MB"}`: amd-smi's MB are MiB (16368 on a 16 GiB card). */
function mib(o: unknown, path: string): number {
  const v = at(o, path);
  const n = Number(isObj(v) ? v['value'] : v);
  if (!Number.isFinite(n) || n < 0) return 0;
  const unit = isObj(v) && typeof v['unit'] === 'string' ? v['unit'].toUpperCase() : 'MB';
  return Math.round(unit === 'GB' ? n * 1024 : unit === 'KB' ? n / 1024 : n);
}

/** "0000:03:00.0" -> "00000000:03:00.0" (nvidia-smi's 8-digit domain, as the rest of the inventory). */
function busId(s: string): string {
  const m = /^([0-9a-f]+):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(s);
  return m ? `${m[1]!.padStart(8, '0')}:${m[2]}:${m[3]}.${m[4]}`.toUpperCase() : s;
}

/** The amdgpu driver version: a plain version as it is; the kernel release out of a squeezed /proc/version. */
export function amdDriverVersion(raw: string): string {
  const m = /^Linux\s*version\s*([^\s(]+)/i.exec(raw);
  return m ? m[1]! : raw;
}

/** The GPU objects of any of the three shapes. */
function gpuObjects(doc: unknown): Obj[] {
  if (Array.isArray(doc)) return doc.filter(isObj);
  if (isObj(doc) && Array.isArray(doc['gpu_data'])) return (doc['gpu_data'] as unknown[]).filter(isObj);
  if (isObj(doc) && ('asic' in doc || 'gpu' in doc)) return [doc];
  throw new ParseError(SOURCE, 'neither {"gpu_data": [...]}, a list of GPUs, nor one GPU object');
}

export function parseAmdSmiStatic(textIn: string): AmdSmiStatic {
  let doc: unknown;
  try {
    doc = JSON.parse(textIn);
  } catch (err) {
    throw new ParseError(SOURCE, (err as Error).message, { cause: err });
  }
  const objs = gpuObjects(doc);
  const gpus: GpuInfo[] = objs.map((g, i) => {
    const image = isObj(g['ifwi']) ? 'ifwi' : 'vbios';
    const index = int(g, 'gpu');
    return {
      index: index !== null && index >= 0 ? index : i,
      uuid: '',
      name: text(g, 'asic.market_name') || text(g, 'board.product_name'),
      vendor: 'amd',
      memoryMiB: mib(g, 'vram.size'),
      pciBusId: busId(text(g, 'bus.bdf')),
      serial: text(g, 'asic.asic_serial') || text(g, 'board.product_serial'),
      vbiosVersion: text(g, `${image}.part_number`) || text(g, `${image}.version`),
      inforomVersion: '',
      gspFirmwareVersion: '',
      numaNode: int(g, 'numa.node') ?? -1,
      nvlinkDomain: '',
      linkRow: [],
      migEnabled: false,
    };
  });
  const driver = objs.map((g) => text(g, 'driver.version')).find((v) => v !== '') ?? '';
  return { firmware: { driverVersion: amdDriverVersion(driver), cudaVersion: '', tool: 'amd-smi' }, gpus };
}

/**
 * rocm-smi's GPUs with amd-smi's static facts where amd-smi has them (matched by PCI address; by
 * index only where neither names one): amd-smi is preferred for static facts, rocm-smi keeps UUIDs
 * and readings. A GPU amd-smi does not list keeps rocm-smi's facts.
 */
export function mergeAmdStatic(rocm: readonly GpuInfo[], amd: AmdSmiStatic): GpuInfo[] {
  return rocm.map((g) => {
    const bus = busId(g.pciBusId.trim());
    const a = bus !== '' ? amd.gpus.find((x) => x.pciBusId === bus) : amd.gpus.find((x) => x.index === g.index && x.pciBusId === '');
    if (!a) return g;
    return {
      ...g,
      name: a.name || g.name,
      memoryMiB: a.memoryMiB || g.memoryMiB,
      pciBusId: g.pciBusId || a.pciBusId,
      serial: a.serial || g.serial,
      vbiosVersion: a.vbiosVersion || g.vbiosVersion,
      numaNode: a.numaNode >= 0 ? a.numaNode : g.numaNode,
    };
  });
}
