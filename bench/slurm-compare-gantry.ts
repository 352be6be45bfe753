/**
 * The Gantry side of the placement comparison (bench/slurm-compare.ts), on the product's path:
 * the scheduler a real child process (`gantry scheduler`, default topology levels
 * [nvlink, leaf, spine], where each 8-GPU HGX node is its own nvlink domain, so nvlink domains
 * used = nodes used), 256 real agents in fleet processes (bench/fleet.ts, the stand-in
 * nvidia-smi serving an 8 × H100 capture), labelled leaf-0..7 (32 nodes each) and spine-0..1
 * (4 leaves each) as in Slurm's topology.conf; every job goes through the gRPC API.
 *
 * Occupancy, with no node pinning in job specs: every node is cordoned; for each node with k > 0
 * busy GPUs, in order: uncordon it, submit a blocker (Training, 1 rank × k GPUs, `sleep`), wait
 * until the scheduler has placed it (checked: on that node), cordon it again. Then every node is
 * uncordoned, every blocker waited on until running, and the busy GPUs per node read back from
 * GetTopology (node domains' gpus_used).
 *
 * Gangs: Training, ranks × gpusPerRank, topology.preferred: leaf, `sleep`; submitted one at a
 * time, judged by the nodes of its ranks once the job is running (the ranks really started on the
 * agents), then cancelled; the next waits until its rank supervisors have exited and the
 * scheduler has its GPUs back (GetTopology's used GPUs equal the occupancy's again).
 */
import path from 'node:path';
import type { ClusterTopology__Output, PbJobOut } from '../shared/proto/index.js';
import { fleetCgroupRoot, rankSupervisors, startFleet, waitNodesReady, type Fleet } from './jobs-fleet.js';
import { removeCgroupTree } from '../shared/procs/index.js';
import { call, sleep, startScheduler, type Sched } from './parts.js';
import { N256G8, NODES, type Gang, type Occupancy } from './slurm-compare-cases.js';

export const gantryNode = (i: number): string => `sim-${String(i).padStart(4, '0')}`;
const indexOf = (name: string): number => Number(/^sim-(\d+)$/.exec(name)?.[1] ?? NaN);

export interface GantryRig {
  s: Sched;
  fleet: Fleet;
  /** The temp dir's name, in every agent's, supervisor's and rank's command line. */
  marker: string;
  stop(): Promise<void>;
}

export async function startGantry(root: string, log: (l: string) => void): Promise<GantryRig> {
  const s = await startScheduler(path.join(root, 'sched'));
  let fleet: Fleet | undefined;
  try {
    const t0 = Date.now();
    fleet = await startFleet(root, s.address, NODES, 'sim', log, root, (i) => {
      const leaf = Math.floor(i / N256G8.nodesPerLeaf);
      return { leaf: `leaf-${leaf}`, spine: `spine-${Math.floor(leaf / N256G8.leavesPerSpine)}` };
    });
    await waitNodesReady(s, NODES, 180_000);
    log(`gantry: scheduler and ${NODES} agents ready in ${Date.now() - t0} ms`);
  } catch (err) {
    await fleet?.stop();
    await s.stop();
    throw err;
  }
  const f = fleet;
  return {
    s,
    fleet: f,
    marker: path.basename(root),
    async stop() {
      await f.stop();
      await s.stop();
      await removeCgroupTree(fleetCgroupRoot(root));
    },
  };
}

/** Busy GPUs per node index, as the scheduler counts them (GetTopology's node domains). */
export async function usedGpus(s: Sched): Promise<number[]> {
  const t = await call<ClusterTopology__Output>(s, 'GetTopology', {});
  const used = new Array<number>(NODES).fill(0);
  for (const d of t.domains) {
    if (d.level !== 'node') continue;
    const i = indexOf(d.name);
    if (i >= 0 && i < NODES) used[i] = d.gpusUsed;
  }
  return used;
}

async function forEachLimited<T>(items: readonly T[], limit: number, f: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await f(items[next++]!);
  }));
}

const names = Array.from({ length: NODES }, (_, i) => gantryNode(i));
const cordonAll = (s: Sched): Promise<void> => forEachLimited(names, 16, (name) => call(s, 'CordonNode', { name, reason: 'benchmark: building the occupancy' }));
const uncordonAll = (s: Sched): Promise<void> => forEachLimited(names, 16, (name) => call(s, 'UncordonNode', { name }));

const spec = (name: string, ranks: number, gpusPerRank: number, preferred?: string): string =>
  JSON.stringify({ kind: 'Training', name, ranks, gpusPerRank, command: ['sleep', '100000'], maxRetries: 0, preemptGraceSeconds: 1, ...(preferred ? { topology: { preferred } } : {}) });

/** Polls GetJob until done(job) or the timeout; returns the last job seen. */
async function waitJob(s: Sched, id: string, done: (j: PbJobOut) => boolean, timeoutMs: number, everyMs = 20): Promise<PbJobOut> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const j = await call<PbJobOut>(s, 'GetJob', { id });
    if (done(j) || Date.now() > until) return j;
    await sleep(everyMs);
  }
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timeout']);

/**
 * Cancels jobs (the scheduler frees their GPUs at once), then waits until the agents have
 * stopped their ranks: no more rank supervisors than `remaining` (the blockers' ranks) are left,
 * so stopping ranks neither load the machine nor hold GPUs on an agent during the next gang.
 */
async function cancelAndWait(rig: GantryRig, ids: readonly string[], remaining: number, log: (l: string) => void): Promise<void> {
  await forEachLimited(ids, 8, (id) => call(rig.s, 'CancelJob', { id, reason: 'benchmark: done' }).catch(() => undefined));
  const until = Date.now() + 60_000;
  let left = rankSupervisors(rig.marker).length;
  while (left > remaining && Date.now() < until) {
    await sleep(50);
    left = rankSupervisors(rig.marker).length;
  }
  if (left > remaining) log(`gantry: ${left} rank supervisors 60 s after cancelling ${ids.length} job(s), ${remaining} expected`);
}

export interface GantryGangResult {
  jobId?: string;
  /** Node index of each rank; absent when it did not start. */
  nodes?: number[];
  error?: string;
  /** Submit → running. */
  ms: number;
}

/** One occupancy on Gantry: blockers, read back, every gang one at a time, then the blockers cancelled. */
export async function runGantryOccupancy(rig: GantryRig, occ: Occupancy, gangs: readonly Gang[], log: (l: string) => void): Promise<{ readBack: number[]; gangs: GantryGangResult[]; setupMs: number }> {
  const { s } = rig;
  const t0 = Date.now();
  const blockers: string[] = [];
  try {
    for (const until = Date.now() + 60_000; ; await sleep(100)) {
      const used = (await usedGpus(s)).reduce((a, b) => a + b, 0);
      if (used === 0) break;
      if (Date.now() > until) throw new Error(`gantry: ${used} GPUs still used before seed ${occ.seed}`);
    }
    await cordonAll(s);
    for (let i = 0; i < NODES; i++) {
      const k = occ.busy[i]!;
      if (k === 0) continue;
      const name = gantryNode(i);
      await call(s, 'UncordonNode', { name });
      const job = await call<PbJobOut>(s, 'SubmitJob', { spec: spec(`block-${occ.seed}-${i}`, 1, k), owner: '' });
      blockers.push(job.id);
      const placed = await waitJob(s, job.id, (j) => j.state !== 'pending', 30_000, 5);
      await call(s, 'CordonNode', { name, reason: 'benchmark: building the occupancy' });
      if (placed.state === 'pending' || placed.ranks[0]?.node !== name) throw new Error(`gantry: blocker for ${name} (${k} GPUs) is ${placed.state} on ${placed.ranks.map((r) => r.node).join(',') || 'no node'}: ${placed.message}`);
    }
    await uncordonAll(s);
    await forEachLimited(blockers, 8, async (id) => {
      const j = await waitJob(s, id, (x) => x.state === 'running' || TERMINAL.has(x.state), 120_000, 100);
      if (j.state !== 'running') throw new Error(`gantry: blocker ${id} is ${j.state}: ${j.message}`);
    });
    const readBack = await usedGpus(s);
    const setupMs = Date.now() - t0;
    log(`gantry: seed ${occ.seed}: ${blockers.length} blockers running in ${setupMs} ms`);
    const results: GantryGangResult[] = [];
    for (const g of gangs) {
      const s0 = Date.now();
      let jobId: string | undefined;
      try {
        const job = await call<PbJobOut>(s, 'SubmitJob', { spec: spec(`gang-${g.kind}-${g.ranks}`, g.ranks, g.gpusPerRank, 'leaf'), owner: '' });
        jobId = job.id;
        const j = await waitJob(s, job.id, (x) => x.state === 'running' || TERMINAL.has(x.state), 120_000);
        if (j.state !== 'running') throw new Error(`${j.state} after ${Date.now() - s0} ms: ${j.message}`);
        results.push({ jobId, nodes: j.ranks.map((r) => indexOf(r.node)), ms: Number(j.startedUnixMs) - Number(j.submittedUnixMs) });
      } catch (err) {
        results.push({ jobId, error: (err as Error).message.split('\n')[0], ms: Date.now() - s0 });
      } finally {
        if (jobId !== undefined) await cancelAndWait(rig, [jobId], blockers.length, log);
      }
      // The next gang sees the same occupancy: the scheduler has this one's GPUs back (it counts
      // a cancelled rank's GPUs until its agent reports the rank gone).
      for (const until = Date.now() + 60_000; ; await sleep(50)) {
        const now = await usedGpus(s);
        const differ = now.filter((x, i) => x !== readBack[i]).length;
        if (differ === 0) break;
        if (Date.now() > until) throw new Error(`gantry: 60 s after gang ${g.kind} ${g.ranks} was cancelled, used GPUs still differ from the occupancy on ${differ} nodes`);
      }
    }
    return { readBack, gangs: results, setupMs };
  } finally {
    await cancelAndWait(rig, blockers, 0, log);
    await uncordonAll(s).catch(() => undefined);
  }
}
