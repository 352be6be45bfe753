/**
 * Which CPUs (and memory nodes) a rank is bound to: cpuset.cpus / cpuset.mems. Pure: the node's
 * NUMA layout, the GPUs' affinities (`nvidia-smi topo -m`, agent/core/nvidia/parse-topo.ts) and the
 * CPUs the node's running ranks hold come from the caller.
 *
 * The rule:
 * - `cpuBinding: 'none'`, a rank without GPUs, or GPUs whose NUMA node is unknown: no binding (null).
 * - Else, for each NUMA node the rank's GPUs are on, a share of that node's CPUs proportional to the
 *   rank's GPUs there among all the node's GPUs there (4 of 8 GPUs on a 64-CPU node: 32; at least
 *   1), and `mems` those NUMA nodes.
 * - The share is taken from CPUs no running rank holds, spread over the node's contiguous CPU ranges
 *   in proportion to their sizes: on x86 a node's CPU list is usually `0-47,96-143`, the second range
 *   the first's SMT siblings, so a rank gets both threads of its cores rather than a neighbour's
 *   siblings.
 * - When too few are free, the rest are the node's least shared CPUs (held by the fewest running
 *   ranks, lowest id first); the result lists them in `shared` and says so in `note`.
 */
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import type { TopoDeviceAffinity } from '../../core/nvidia/parse-topo.js';

export type CpuBinding = 'numa' | 'none';

/** One GPU's placement: NUMA node (-1 unknown) and the CPUs close to it (empty when unknown). */
export interface GpuCpuAffinity {
  index: number;
  numaNode: number;
  cpus: readonly number[];
}

export interface CpuTopology {
  /** Each NUMA node's CPUs (online ones), ascending. A node missing here falls back to its GPUs' CPU affinity. */
  nodeCpus: ReadonlyMap<number, readonly number[]>;
  /** Every GPU of the node (not only the rank's): the share is counted against them. */
  gpus: readonly GpuCpuAffinity[];
}

export interface CpuRequest {
  /** The rank's GPU indexes (nvidia-smi / KFD order). */
  gpuIndexes: readonly number[];
  cpuBinding: CpuBinding;
}

export interface CpuAllocation {
  /** cpuset.cpus, ascending. */
  cpus: number[];
  /** cpuset.mems, ascending. */
  mems: number[];
  /** The CPUs in `cpus` a running rank also holds (empty unless the node ran out). */
  shared: number[];
  /** Why CPUs are shared (or GPUs without a NUMA node were left out); null when nothing to say. */
  note: string | null;
}

const MAX_CPU = 1 << 20;

/** "0-47,96-143" → [0..47, 96..143] (ascending, unique). Empty text: []. Throws InvalidArgumentError naming the bad part. */
export function parseCpuList(text: string, field = 'cpu list'): number[] {
  const t = text.trim();
  if (t === '' || /^n\/a$/i.test(t)) return [];
  const out = new Set<number>();
  for (const part of t.split(',')) {
    const m = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(part);
    if (!m) throw new InvalidArgumentError(field, `${JSON.stringify(part)} is not a CPU or a range of CPUs (as "0-47,96-143")`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new InvalidArgumentError(field, `range ${JSON.stringify(part.trim())} runs backwards`);
    if (hi >= MAX_CPU) throw new InvalidArgumentError(field, `CPU ${hi} is beyond ${MAX_CPU - 1}`);
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

/** [0,1,2,5,7,8] → "0-2,5,7-8" (cpuset.cpus syntax). */
export function formatCpuList(cpus: readonly number[]): string {
  const s = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    parts.push(j === i ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The GPUs' affinities from `topo -m` rows (GPU<n> rows; NIC rows left out). Throws on a bad CPU Affinity cell. */
export function gpuAffinitiesFromTopo(affinity: readonly TopoDeviceAffinity[]): GpuCpuAffinity[] {
  const out: GpuCpuAffinity[] = [];
  for (const a of affinity) {
    const m = /^GPU(\d+)$/.exec(a.device);
    if (!m) continue;
    out.push({
      index: Number(m[1]),
      numaNode: a.numaAffinity >= 0 ? a.numaAffinity : a.gpuNumaId,
      cpus: parseCpuList(a.cpuAffinity, `${a.device} CPU Affinity`),
    });
  }
  return out;
}

/** Contiguous runs of an ascending list. */
function runs(cpus: readonly number[]): number[][] {
  const out: number[][] = [];
  for (const c of cpus) {
    const last = out[out.length - 1];
    if (last && last[last.length - 1] === c - 1) last.push(c);
    else out.push([c]);
  }
  return out;
}

/** `want` of `free` (a subset of `pool`), spread over the pool's runs in proportion to their sizes. */
function spread(pool: readonly number[], free: ReadonlySet<number>, want: number): number[] {
  const poolRuns = runs(pool);
  const taken = new Set<number>();
  // Each run's quota: its share of `want` by size, rounded down; the rest filled run by run below.
  poolRuns.forEach((run) => {
    const quota = Math.floor((want * run.length) / pool.length);
    let got = 0;
    for (const c of run) {
      if (got >= quota) break;
      if (free.has(c)) {
        taken.add(c);
        got++;
      }
    }
  });
  for (const c of pool) {
    if (taken.size >= want) break;
    if (free.has(c)) taken.add(c);
  }
  return [...taken];
}

/** The CPUs and memory nodes of one rank, or null for no binding. Pure. */
export function allocateCpus(topology: CpuTopology, held: ReadonlyArray<readonly number[]>, request: CpuRequest): CpuAllocation | null {
  if (request.cpuBinding === 'none' || request.gpuIndexes.length === 0) return null;
  const byIndex = new Map(topology.gpus.map((g) => [g.index, g] as const));
  const mine = request.gpuIndexes.map((i) => byIndex.get(i));
  const placed = mine.filter((g): g is GpuCpuAffinity => g !== undefined && g.numaNode >= 0);
  if (placed.length === 0) return null;
  const notes: string[] = [];
  const unplaced = request.gpuIndexes.filter((i) => !placed.some((g) => g.index === i));
  if (unplaced.length > 0) notes.push(`GPU ${unplaced.join(', ')}: NUMA node unknown, not counted`);

  const holders = new Map<number, number>();
  for (const rank of held) for (const c of new Set(rank)) holders.set(c, (holders.get(c) ?? 0) + 1);

  const nodes = [...new Set(placed.map((g) => g.numaNode))].sort((a, b) => a - b);
  const cpus: number[] = [];
  const shared: number[] = [];
  for (const node of nodes) {
    const onNode = topology.gpus.filter((g) => g.numaNode === node);
    const pool =
      topology.nodeCpus.get(node)?.slice().sort((a, b) => a - b) ?? [...new Set(onNode.flatMap((g) => [...g.cpus]))].sort((a, b) => a - b);
    if (pool.length === 0) {
      notes.push(`NUMA node ${node}: no CPUs known`);
      continue;
    }
    const rankHere = placed.filter((g) => g.numaNode === node).length;
    const want = Math.max(1, Math.floor((pool.length * rankHere) / Math.max(onNode.length, rankHere)));
    const free = new Set(pool.filter((c) => !holders.has(c)));
    if (free.size >= want) {
      cpus.push(...spread(pool, free, want));
      continue;
    }
    const short = want - free.size;
    const leastShared = pool
      .filter((c) => holders.has(c))
      .sort((a, b) => (holders.get(a) ?? 0) - (holders.get(b) ?? 0) || a - b)
      .slice(0, short);
    cpus.push(...free, ...leastShared);
    shared.push(...leastShared);
    notes.push(`NUMA node ${node}: ${want} CPUs wanted, ${free.size} free; ${short} shared with running ranks (${formatCpuList(leastShared)})`);
  }
  if (cpus.length === 0) return null;
  const mems = nodes.filter((n) => cpus.some((c) => (topology.nodeCpus.get(n) ?? topology.gpus.filter((g) => g.numaNode === n).flatMap((g) => [...g.cpus])).includes(c)));
  return {
    cpus: [...new Set(cpus)].sort((a, b) => a - b),
    mems,
    shared: [...new Set(shared)].sort((a, b) => a - b),
    note: notes.length > 0 ? notes.join('; ') : null,
  };
}

/**
 * The topology from what the agent keeps: each GPU's NUMA node (GpuInfo.numaNode, from `topo -m`) and
 * the node's CPUs per NUMA node (node-cpus.ts); a GPU's CPUs are its NUMA node's.
 */
export function cpuTopologyFromGpus(gpus: ReadonlyArray<{ index: number; numaNode: number }>, nodeCpus: ReadonlyMap<number, readonly number[]>): CpuTopology {
  return { nodeCpus, gpus: gpus.map((g) => ({ index: g.index, numaNode: g.numaNode, cpus: g.numaNode >= 0 ? [...(nodeCpus.get(g.numaNode) ?? [])] : [] })) };
}
