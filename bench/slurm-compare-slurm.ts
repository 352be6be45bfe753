/**
 * The Slurm side of the placement comparison (bench/slurm-compare.ts), on a running Cluster
 * (bench/slurm-cluster.ts: 256 slurmd, topology/tree with 8 leaves of 32 under 2 spines).
 *
 * Every allocation is `salloc --no-shell`: Slurm allocates and the job is RUNNING, holding its
 * nodes, CPUs and GPUs, with no process on the nodes (so 150 blockers cost no slurmstepd each).
 *   blockers: `salloc --no-shell --immediate=30 -J block -w simNNNN -N1 -n1 --gres=gpu:<k>`,
 *             one per node with k > 0 busy GPUs (pinned by -w);
 *   gangs:    whole-node  `salloc --no-shell --immediate=60 -J gang -N <R> --exclusive --gres=gpu:8`
 *             g-GPU ranks `salloc --no-shell --immediate=60 -J gang -n <R> --gpus-per-task=<g>`
 *             (g = 1, 4; the nodes and tasks per node are Slurm's choice).
 * A gang is judged by where it started: `squeue -h -j ID -o "%T|%N"` once RUNNING, the NodeList
 * expanded by `scontrol show hostnames`; then `scancel`, and the next gang waits until squeue no
 * longer lists it (COMPLETING included), so every gang sees the same occupancy.
 * The occupancy read back: `scontrol -d show node -o`, GresUsed per node.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { sleep } from './parts.js';
import { nodeName, type Cluster } from './slurm-cluster.js';
import { NODES, type Gang, type Occupancy } from './slurm-compare-cases.js';

export const SLURM_FLAGS = {
  blocker: 'salloc --no-shell --immediate=30 -J block -w simNNNN -N1 -n1 --gres=gpu:<k>',
  wholeNode: 'salloc --no-shell --immediate=60 -J gang -N <R> --exclusive --gres=gpu:8',
  perRank: 'salloc --no-shell --immediate=60 -J gang -n <R> --gpus-per-task=<g>',
};

function cmd(c: Cluster, bin: string, args: string[], timeoutMs = 90_000): { code: number | null; out: string; err: string } {
  const r = spawnSync(path.join(path.dirname(c.tools.srun), bin), args, { env: c.env, encoding: 'utf8', timeout: timeoutMs, cwd: c.dir });
  return { code: r.status, out: r.stdout ?? '', err: `${r.stderr ?? ''}${r.error ? ` (${r.error.message})` : ''}` };
}

/** salloc --no-shell: the job id once granted; throws with salloc's words when not. */
function salloc(c: Cluster, args: string[], immediateS: number): number {
  const r = cmd(c, 'salloc', ['--no-shell', `--immediate=${immediateS}`, ...args], (immediateS + 30) * 1000);
  const id = /Granted job allocation (\d+)/.exec(r.err + r.out)?.[1];
  if (r.code !== 0 || !id) throw new Error(`salloc ${args.join(' ')} exited ${r.code}: ${(r.err + r.out).trim().slice(-500)}`);
  return Number(id);
}

/** Node index (0-based) of simNNNN (1-based). */
const indexOf = (name: string): number => Number(/^sim(\d+)$/.exec(name)?.[1] ?? NaN) - 1;

function hostnames(c: Cluster, list: string): string[] {
  const r = cmd(c, 'scontrol', ['show', 'hostnames', list]);
  return r.out.split('\n').map((s) => s.trim()).filter(Boolean);
}

/** Busy GPUs per node index, from each node's GresUsed (AllocTRES would need slurmdbd to track gres/gpu). */
export function allocatedGpus(c: Cluster): number[] {
  const out = cmd(c, 'scontrol', ['-d', 'show', 'node', '-o']).out;
  const busy = new Array<number>(NODES).fill(0);
  for (const line of out.split('\n')) {
    const name = /NodeName=(\S+)/.exec(line)?.[1];
    if (!name) continue;
    const i = indexOf(name);
    if (i >= 0 && i < NODES) busy[i] = Number(/GresUsed=gpu:(\d+)/.exec(line)?.[1] ?? NaN);
  }
  return busy;
}

/** Job ids squeue still lists (pending, running, completing...). */
function listed(c: Cluster, ids: readonly number[]): number[] {
  if (ids.length === 0) return [];
  const r = cmd(c, 'squeue', ['-h', '-o', '%i', '-j', ids.join(',')]);
  return r.out.split('\n').map((s) => Number(s.trim())).filter((x) => x > 0);
}

async function cancelAndWait(c: Cluster, ids: readonly number[], timeoutMs = 60_000): Promise<void> {
  for (let i = 0; i < ids.length; i += 200) cmd(c, 'scancel', ids.slice(i, i + 200).map(String));
  for (const until = Date.now() + timeoutMs; ; await sleep(100)) {
    const left = listed(c, ids);
    if (left.length === 0) return;
    if (Date.now() > until) throw new Error(`slurm: jobs ${left.slice(0, 10).join(', ')} still listed ${timeoutMs / 1000} s after scancel\n${c.logTails()}`);
  }
}

export interface SlurmGangResult {
  jobId?: number;
  /** Node indexes of the allocation (0-based); absent when it did not start. */
  nodes?: number[];
  /** Why it did not start. */
  error?: string;
  ms: number;
}

/** One occupancy on Slurm: blockers, read back, every gang one at a time, then the blockers cancelled. */
export async function runSlurmOccupancy(c: Cluster, occ: Occupancy, gangs: readonly Gang[], log: (l: string) => void): Promise<{ readBack: number[]; gangs: SlurmGangResult[]; setupMs: number }> {
  const t0 = Date.now();
  const blockers: number[] = [];
  try {
    for (let i = 0; i < NODES; i++) {
      const k = occ.busy[i]!;
      if (k > 0) blockers.push(salloc(c, ['-J', 'block', '-w', nodeName(i + 1), '-N1', '-n1', `--gres=gpu:${k}`], 30));
    }
    const readBack = allocatedGpus(c);
    const setupMs = Date.now() - t0;
    log(`slurm: seed ${occ.seed}: ${blockers.length} blockers in ${setupMs} ms`);
    const results: SlurmGangResult[] = [];
    for (const g of gangs) {
      const args = g.gpusPerRank === 8 ? ['-J', 'gang', `-N${g.ranks}`, '--exclusive', '--gres=gpu:8'] : ['-J', 'gang', `-n${g.ranks}`, `--gpus-per-task=${g.gpusPerRank}`];
      const s0 = Date.now();
      let jobId: number | undefined;
      try {
        jobId = salloc(c, args, 60);
        const q = cmd(c, 'squeue', ['-h', '-j', String(jobId), '-o', '%T|%N']).out.trim();
        const [state, list] = q.split('|');
        if (state !== 'RUNNING' || !list) throw new Error(`granted but squeue says "${q}"`);
        const nodes = hostnames(c, list).map(indexOf);
        results.push({ jobId, nodes, ms: Date.now() - s0 });
      } catch (err) {
        results.push({ jobId, error: (err as Error).message.split('\n')[0], ms: Date.now() - s0 });
      } finally {
        if (jobId !== undefined) await cancelAndWait(c, [jobId]);
      }
    }
    return { readBack, gangs: results, setupMs };
  } finally {
    await cancelAndWait(c, blockers, 120_000);
  }
}
