/**
 * The GPU-clean check run on a node after each job (issue 20, point 2): pure, no I/O, no clock.
 *
 * A job's GPUs are clean when no compute process is left on them (type G, graphics such as Xorg,
 * is ignored; C, C+G, MPS types and an unknown type all count) and each one's used memory is back
 * within `marginBytes` of the node's idle level. Processes on the node's other GPUs are not this
 * job's business and are ignored.
 *
 * The outcome is a value: clean, or not clean with counted reasons and the leftover pids. Who owns
 * a pid is not known here: the shell resolves `pids` to users (from /proc) for the drain event.
 *
 * Wired by agent/hooks/job-hooks.ts after each job run on the node (docs/agent-collectors.md, "GPU-clean check").
 */
import { InvalidArgumentError } from '../../shared/errors/index.js';
import type { GpuProcess } from '../core/index.js';

/** A GPU named by its index (number) or its UUID (string), as the job's allocation names it. */
export type GpuId = number | string;

/** One of the node's GPUs as probed: lets a job GPU named either way meet processes named either way. */
export interface NodeGpuRef {
  index: number;
  uuid: string;
}

export interface GpuCleanInput {
  /** The job's GPUs on this node. */
  gpus: readonly GpuId[];
  /** The node's GPUs (index and UUID of each), from the last probe. */
  nodeGpus: readonly NodeGpuRef[];
  /** Every process the driver lists, from parseComputeAppsCsv or parseXmlProcesses. */
  processes: readonly GpuProcess[];
  /** Used memory per GPU index, read after the job; null or missing = not read. */
  memoryUsedBytes: Readonly<Record<number, number | null>>;
  /** The node's idle level of used memory per GPU index; missing or null = not known yet (memory not judged, noted in `unjudged`). */
  idleMemoryBytes: Readonly<Record<number, number | null>>;
  /** How far above idle used memory may be and still be clean, in bytes (>= 0). */
  marginBytes: number;
}

export type GpuCleanReason =
  | { kind: 'leftover-process'; gpu: NodeGpuRef; pid: number; name: string | null; type: string | null; usedMemoryBytes: number | null }
  | { kind: 'memory-above-idle'; gpu: NodeGpuRef; usedBytes: number; idleBytes: number; marginBytes: number; excessBytes: number }
  | { kind: 'memory-unread'; gpu: NodeGpuRef }
  | { kind: 'unknown-gpu'; gpu: GpuId };

export type GpuCleanReasonKind = GpuCleanReason['kind'];

export type GpuCleanOutcome =
  | { clean: true; unjudged: NodeGpuRef[] }
  | {
      clean: false;
      reasons: GpuCleanReason[];
      /** How many reasons of each kind (0 for kinds not seen). */
      counts: Record<GpuCleanReasonKind, number>;
      /** The leftover processes' pids, distinct, ascending: for the shell to name their users. */
      pids: number[];
      /** GPUs whose memory was not judged because the idle level is not known yet. */
      unjudged: NodeGpuRef[];
    };

function checkBytes(field: string, v: unknown, nullable: boolean): void {
  if (v === null || v === undefined) {
    if (nullable) return;
    throw new InvalidArgumentError(field, 'missing');
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new InvalidArgumentError(field, `${String(v)} is not a byte count (a finite number >= 0)`);
}

function validate(input: GpuCleanInput): void {
  if (input === null || typeof input !== 'object') throw new InvalidArgumentError('input', 'not an object');
  if (!Array.isArray(input.gpus)) throw new InvalidArgumentError('gpus', 'not a list');
  for (const g of input.gpus) {
    if (!(typeof g === 'string' && g !== '') && !(typeof g === 'number' && Number.isInteger(g) && g >= 0)) {
      throw new InvalidArgumentError('gpus', `${JSON.stringify(g)} is neither a GPU index nor a UUID`);
    }
  }
  if (!Array.isArray(input.nodeGpus)) throw new InvalidArgumentError('nodeGpus', 'not a list');
  if (!Array.isArray(input.processes)) throw new InvalidArgumentError('processes', 'not a list');
  checkBytes('marginBytes', input.marginBytes, false);
  for (const [k, v] of Object.entries(input.memoryUsedBytes ?? {})) checkBytes(`memoryUsedBytes[${k}]`, v, true);
  for (const [k, v] of Object.entries(input.idleMemoryBytes ?? {})) checkBytes(`idleMemoryBytes[${k}]`, v, true);
}

function resolve(id: GpuId, nodeGpus: readonly NodeGpuRef[]): NodeGpuRef | undefined {
  return typeof id === 'number' ? nodeGpus.find((g) => g.index === id) : nodeGpus.find((g) => g.uuid === id);
}

/** A process belongs to a GPU by UUID when it carries one (the CSV), else by index (`-q -x` without a UUID). */
function onGpu(p: GpuProcess, g: NodeGpuRef): boolean {
  if (p.gpuUuid !== null) return p.gpuUuid === g.uuid;
  return p.gpuIndex !== null && p.gpuIndex === g.index;
}

/** Judges the job's GPUs after the job; throws InvalidArgumentError only for malformed input. */
export function gpuCleanCheck(input: GpuCleanInput): GpuCleanOutcome {
  validate(input);
  const reasons: GpuCleanReason[] = [];
  const unjudged: NodeGpuRef[] = [];
  const seen = new Set<number>();
  for (const id of input.gpus) {
    const gpu = resolve(id, input.nodeGpus);
    if (gpu === undefined) {
      reasons.push({ kind: 'unknown-gpu', gpu: id });
      continue;
    }
    if (seen.has(gpu.index)) continue;
    seen.add(gpu.index);
    for (const p of input.processes) {
      if (!onGpu(p, gpu) || p.type === 'G') continue;
      reasons.push({ kind: 'leftover-process', gpu, pid: p.pid, name: p.name, type: p.type, usedMemoryBytes: p.usedMemoryBytes });
    }
    const used = input.memoryUsedBytes?.[gpu.index];
    const idle = input.idleMemoryBytes?.[gpu.index];
    if (used === null || used === undefined) {
      reasons.push({ kind: 'memory-unread', gpu });
    } else if (idle === null || idle === undefined) {
      unjudged.push(gpu);
    } else if (used > idle + input.marginBytes) {
      reasons.push({ kind: 'memory-above-idle', gpu, usedBytes: used, idleBytes: idle, marginBytes: input.marginBytes, excessBytes: used - idle - input.marginBytes });
    }
  }
  if (reasons.length === 0) return { clean: true, unjudged };
  const counts: Record<GpuCleanReasonKind, number> = { 'leftover-process': 0, 'memory-above-idle': 0, 'memory-unread': 0, 'unknown-gpu': 0 };
  for (const r of reasons) counts[r.kind]++;
  const pids = [...new Set(reasons.flatMap((r) => (r.kind === 'leftover-process' ? [r.pid] : [])))].sort((a, b) => a - b);
  return { clean: false, reasons, counts, pids, unjudged };
}

const MIB = 1024 ** 2;

function mib(bytes: number): string {
  return `${Math.round((bytes / MIB) * 10) / 10} MiB`;
}

/** One line for a drain reason or an event: what made the GPUs unclean. `users` maps pids to user names, when the shell knows them. */
export function describeGpuClean(outcome: GpuCleanOutcome, users: Readonly<Record<number, string>> = {}): string {
  if (outcome.clean) return 'GPUs clean';
  const parts = outcome.reasons.map((r) => {
    switch (r.kind) {
      case 'leftover-process': {
        const user = users[r.pid];
        return `GPU ${r.gpu.index}: ${r.type ?? '?'} process ${r.pid}${r.name ? ` (${r.name.slice(0, 80)})` : ''}${user ? ` of ${user}` : ''} left`;
      }
      case 'memory-above-idle':
        return `GPU ${r.gpu.index}: ${mib(r.usedBytes)} used, idle ${mib(r.idleBytes)} + margin ${mib(r.marginBytes)}`;
      case 'memory-unread':
        return `GPU ${r.gpu.index}: used memory not read`;
      case 'unknown-gpu':
        return `GPU ${JSON.stringify(r.gpu)} is not on this node`;
    }
  });
  return `GPUs not clean: ${parts.join('; ')}`;
}
