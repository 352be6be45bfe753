/**
 * Pure parsers of the processes running on each GPU, for the GPU-clean check between jobs (issue 20,
 * point 2): `nvidia-smi --query-compute-apps=<fields> --format=csv` and the `<processes>` section of
 * `nvidia-smi -q -x`. No I/O, no clock.
 *
 * Checked against the real captures in fixtures/: the idle and loaded `--query-compute-apps`
 * sections of the nvidia_gpu_exporter captures (RTX 2080 SUPER, L40S, H100) and the
 * `<process_info>` entries of the telegraf captures (type C, G such as Xorg, and C+G with an empty
 * name and `N/A` memory on the Tesla P4).
 *
 * Values `N/A`, `[N/A]`, `[Not Supported]` and other bracketed text read as null. Garbled input (no
 * header, a row of the wrong width, a pid that is not a number, an error line printed in place of a
 * row such as "GPU is lost") is a ParseError naming the line: a check that cannot read the
 * processes must not call a GPU clean.
 */
import { ParseError } from '../../../shared/errors/index.js';
import { memoryBytes, parseDocument } from './parse-xml.js';

/**
 * How the driver lists a process: C compute, G graphics (e.g. Xorg), C+G both. Newer drivers also
 * print M / M+C (MPS); any such text is kept as written. Null when the source does not say (N/A).
 */
export type GpuProcessType = 'C' | 'G' | 'C+G' | (string & {});

export interface GpuProcess {
  /** UUID of the GPU the process runs on; null when the source gave none. */
  gpuUuid: string | null;
  /** Position of the GPU in the `-q -x` document (nvidia-smi's index); null from the CSV. */
  gpuIndex: number | null;
  pid: number;
  /**
   * `--query-compute-apps` lists processes with a compute context only, and does not say whether
   * they also draw: its rows read 'C'.
   */
  type: GpuProcessType | null;
  /** Null when empty or N/A (the Tesla P4 capture's C+G process has an empty name). */
  name: string | null;
  usedMemoryBytes: number | null;
  /** MIG instance ids, from `-q -x`; null when N/A or absent. */
  gpuInstanceId: number | null;
  computeInstanceId: number | null;
}

const CSV_SOURCE = 'nvidia-smi --query-compute-apps';
const XML_SOURCE = 'nvidia-smi -q -x <processes>';

/** The default field list, for `--format=csv,noheader` output. */
export const COMPUTE_APPS_FIELDS: readonly string[] = ['gpu_uuid', 'pid', 'process_name', 'used_memory'];

/** `used_gpu_memory` is what nvidia-smi prints in the header for the `used_memory` field. */
const FIELD_ALIASES: Record<string, string> = { used_gpu_memory: 'used_memory', name: 'process_name' };

function absent(v: string | undefined): boolean {
  if (v === undefined) return true;
  const t = v.trim();
  return t === '' || t.startsWith('[') || /^(n\/a|not supported|unknown|none)$/i.test(t);
}

function fieldName(cell: string): string {
  const name = cell.replace(/\s*\[[^\]]*\]\s*$/, '').trim();
  return FIELD_ALIASES[name] ?? name;
}

function parsePid(v: string | undefined, source: string, where: string): number {
  const t = (v ?? '').trim();
  if (!/^\d+$/.test(t)) throw new ParseError(source, `${where}: pid ${JSON.stringify(t.slice(0, 40))} is not a number`);
  const n = Number(t);
  if (!Number.isSafeInteger(n) || n <= 0) throw new ParseError(source, `${where}: pid ${t} is out of range`);
  return n;
}

function parseMemory(v: string | undefined, source: string, where: string): number | null {
  if (absent(v)) return null;
  const t = v!.trim();
  // Header units ("used_gpu_memory [MiB]") and `nounits` output: a bare number is MiB.
  const bytes = /^\d+(?:\.\d+)?$/.test(t) ? memoryBytes(`${t} MiB`) : memoryBytes(t);
  if (bytes === null) throw new ParseError(source, `${where}: used memory ${JSON.stringify(t.slice(0, 40))} is not a size`);
  return bytes;
}

function optionalInt(v: unknown): number | null {
  const t = typeof v === 'string' || typeof v === 'number' ? String(v).trim() : '';
  return /^\d+$/.test(t) ? Number(t) : null;
}

/**
 * Parses `nvidia-smi --query-compute-apps=<fields> --format=csv` (header line first; units in
 * values or not). For `--format=csv,noheader` pass the fields asked for in `fields`. A GPU without
 * processes prints the header alone: no rows. Needs `pid`; reads `gpu_uuid`, `process_name` and
 * `used_memory` (header `used_gpu_memory`) when asked for, and ignores the other fields. The
 * process name is the only free text: a name with commas in it (command lines do) takes the extra
 * cells.
 */
export function parseComputeAppsCsv(text: string, fields?: readonly string[]): GpuProcess[] {
  if (typeof text !== 'string') throw new ParseError(CSV_SOURCE, 'output is not text');
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length > 0 && /^no running (compute )?processes found/i.test(lines[0]!)) return [];
  let names: string[];
  let body = lines;
  if (fields === undefined) {
    if (lines.length === 0) throw new ParseError(CSV_SOURCE, 'empty output: no header line');
    names = lines[0]!.split(',').map(fieldName);
    body = lines.slice(1);
  } else {
    names = fields.map(fieldName);
  }
  const pidAt = names.indexOf('pid');
  if (pidAt < 0) throw new ParseError(CSV_SOURCE, `no pid column in ${JSON.stringify(names.join(', ').slice(0, 200))}`);
  const nameAt = names.indexOf('process_name');
  const uuidAt = names.indexOf('gpu_uuid');
  const memAt = names.indexOf('used_memory');
  const out: GpuProcess[] = [];
  body.forEach((line, i) => {
    const where = `row ${i + 1} ${JSON.stringify(line.slice(0, 120))}`;
    let cells = line.split(',').map((c) => c.trim());
    if (cells.length > names.length && nameAt >= 0) {
      const extra = cells.length - names.length;
      const joined = line.split(',').slice(nameAt, nameAt + extra + 1).join(',').trim();
      cells = [...cells.slice(0, nameAt), joined, ...cells.slice(nameAt + extra + 1)];
    }
    if (cells.length !== names.length) throw new ParseError(CSV_SOURCE, `${where}: ${cells.length} cells, ${names.length} fields asked for`);
    out.push({
      gpuUuid: uuidAt >= 0 && !absent(cells[uuidAt]) ? cells[uuidAt]! : null,
      gpuIndex: null,
      pid: parsePid(cells[pidAt], CSV_SOURCE, where),
      type: 'C',
      name: nameAt >= 0 && !absent(cells[nameAt]) ? cells[nameAt]! : null,
      usedMemoryBytes: memAt >= 0 ? parseMemory(cells[memAt], CSV_SOURCE, where) : null,
      gpuInstanceId: null,
      computeInstanceId: null,
    });
  });
  return out;
}

type Node = Record<string, unknown>;

function leaf(node: Node, key: string): string | undefined {
  const v = node[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') return undefined;
  return String(v).trim();
}

/**
 * The `<process_info>` entries under each `<gpu>`'s `<processes>` in `nvidia-smi -q -x`, in
 * document order. A GPU without processes (an empty `<processes>`, or "N/A") gives none. The
 * document must be well formed (the same checks as parseNvidiaSmiXml); an entry without a numeric
 * pid is a ParseError.
 */
export function parseXmlProcesses(xml: string): GpuProcess[] {
  const root = parseDocument(xml);
  const raw = root['gpu'];
  const gpus: unknown[] = Array.isArray(raw) ? raw : [];
  const out: GpuProcess[] = [];
  gpus.forEach((g, index) => {
    if (g === null || typeof g !== 'object') return;
    const gpu = g as Node;
    const uuid = leaf(gpu, 'uuid');
    const procs = gpu['processes'];
    if (procs === null || typeof procs !== 'object') return;
    const list = (procs as Node)['process_info'];
    if (!Array.isArray(list)) return;
    list.forEach((p, j) => {
      const where = `GPU ${index} process_info ${j + 1}`;
      if (p === null || typeof p !== 'object') throw new ParseError(XML_SOURCE, `${where}: empty entry`);
      const e = p as Node;
      const type = leaf(e, 'type');
      const name = leaf(e, 'process_name');
      out.push({
        gpuUuid: absent(uuid) ? null : uuid!,
        gpuIndex: index,
        pid: parsePid(leaf(e, 'pid'), XML_SOURCE, where),
        type: absent(type) ? null : type!,
        name: absent(name) ? null : name!,
        usedMemoryBytes: parseMemory(leaf(e, 'used_memory'), XML_SOURCE, where),
        gpuInstanceId: optionalInt(e['gpu_instance_id']),
        computeInstanceId: optionalInt(e['compute_instance_id']),
      });
    });
  });
  return out;
}
