/**
 * Slurm, the live peer (DESIGN.md "Performance targets"), two parts:
 *   (slurm)   the anchor for "256-node gang on a 256-node cluster, allocate → all ranks ran":
 *             `srun -N<n> true` on 256 slurmd on loopback (bench/slurm-cluster.ts: topology/tree,
 *             8 leaves of 32 under 2 spines, GPUs as gres backed by plain files);
 *   (compare) where gangs really start, Gantry and Slurm on the same six seeded occupancies of
 *             n256g8, each judged against an exact optimum (bench/slurm-compare.ts).
 * Phases, one after the other: Slurm up → srun timings → Slurm's gangs → Slurm down; then the
 * Gantry scheduler and 256 agents → Gantry's gangs → down. Every process is stopped at the end,
 * on errors too (the temp dirs name them all).
 *
 * It installs nothing: where a Slurm program is missing, the Slurm rows say "not run" (never a
 * pass) and Gantry's side of the comparison still runs against the optimum.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gantryEntry, stopProcessesMentioning } from '../shared/procs/index.js';
import { round } from './parts.js';
import { Cluster, CPUS_PER_NODE, findTools, freePortRange, GPUS_PER_NODE, INSTALL, LEAF_SIZE, LEAVES_PER_SPINE } from './slurm-cluster.js';
import { compactDetail, comparisonRows, readBackCheck, scoreComparison, worseCase, type Side, type SideRun } from './slurm-compare.js';
import { gangsFor, leafSummary, NODES, occupancy, SEEDS } from './slurm-compare-cases.js';
import { runGantryOccupancy, startGantry, type GantryRig } from './slurm-compare-gantry.js';
import { runSlurmOccupancy, SLURM_FLAGS } from './slurm-compare-slurm.js';
import { percentile, type BenchOptions, type BenchRow, type BenchSuite, type SuiteResult } from './suite.js';

const ANCHOR = 'DESIGN.md: 4.57 s on a 2-core machine';

function parseSizes(spec: string | undefined): number[] {
  const sizes = (spec ?? '64,128,256').split(',').map((s) => Number(s.trim())).filter((x) => Number.isInteger(x) && x > 0 && x <= 9999);
  if (sizes.length === 0) throw new Error(`--slurm-nodes: expected gang sizes like 64,128,256, got ${spec}`);
  return [...new Set(sizes)].sort((a, b) => a - b);
}

/** The srun timings on a cluster that is up. */
async function srunPart(cluster: Cluster, sizes: readonly number[], reps: number, label: (n: number) => string, log: (l: string) => void): Promise<{ rows: BenchRow[]; runs: Record<string, unknown> }> {
  const rows: BenchRow[] = [];
  const runs: Record<string, unknown> = {};
  for (const n of sizes) {
    // One warm-up run, reported apart: the first step on each slurmd pays for loading its
    // plugins and first slurmstepd, which a steady cluster does not.
    await cluster.settle();
    const warm = await cluster.srun(n);
    const timed: Array<{ wallMs: number; machineCpuMs: number }> = [];
    for (let r = 0; r < reps; r++) {
      await cluster.settle();
      timed.push(await cluster.srun(n));
    }
    const walls = timed.map((t) => t.wallMs);
    const cpus = timed.map((t) => t.machineCpuMs);
    const sorted = [...walls].sort((a, b) => a - b);
    log(`slurm: srun -N${n} true: ${sorted.map((x) => round(x)).join(', ')} ms (warm-up ${round(warm.wallMs)} ms)`);
    runs[String(n)] = { warmUp: { wallMs: round(warm.wallMs), machineCpuMs: warm.machineCpuMs }, wallMs: walls.map((x) => round(x)), machineCpuMs: cpus };
    rows.push({ scenario: label(n), metric: `srun spawn → exit, min / median / max of ${reps} (warm-up run ${round(warm.wallMs)})`, value: `${round(sorted[0]!)} / ${round(percentile(walls, 50))} / ${round(sorted[sorted.length - 1]!)}`, unit: 'ms', anchor: n === 256 ? ANCHOR : undefined });
    rows.push({ scenario: label(n), metric: `busy CPU of the whole machine (${os.cpus().length} cores) during the srun, median`, value: round(percentile(cpus, 50)), unit: 'ms' });
  }
  return { rows, runs };
}

/** The suite; `markers` gets each temp dir's name as soon as processes may mention it. */
async function runSuite(opts: BenchOptions, markers: string[]): Promise<SuiteResult> {
  const want = (label: string): boolean => opts.only.length === 0 || opts.only.some((o) => label.startsWith(o) || o.startsWith(label));
  const wantSrun = want('(slurm)');
  const wantCompare = want('(compare)');
  if (!wantSrun && !wantCompare) return { rows: [], details: {} };
  const sizes = parseSizes(opts.params['slurm-nodes']);
  // The comparison needs the whole n256g8 shape in Slurm.
  const nodes = Math.max(...sizes, wantCompare ? NODES : 0);
  const label = (n: number): string => `(slurm) srun -N${n} true on ${nodes} slurmd (loopback)`;
  const seeds = opts.quick ? SEEDS.slice(0, 2) : [...SEEDS];
  const occs = seeds.map(occupancy);
  const gangs = gangsFor(opts.quick);
  const rows: BenchRow[] = [];
  const details: Record<string, unknown> = { nodes, leafSize: LEAF_SIZE, leavesPerSpine: LEAVES_PER_SPINE, cpusPerNode: CPUS_PER_NODE };
  const started = performance.now();
  let slurm: Side = { notRun: '' };
  const { tools, missing } = findTools();
  if (!tools) {
    const why = `${missing.join(', ')} not found (install: ${INSTALL})`;
    slurm = { notRun: why };
    if (wantSrun) rows.push({ scenario: label(nodes), metric: `not run: ${why}`, value: 'not run', unit: '', anchor: ANCHOR });
    details.missing = missing;
    details.install = INSTALL;
  } else {
    const reps = opts.quick ? 2 : 5;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-bench-slurm-'));
    markers.push(dir);
    details.dir = dir;
    details.gres = `gpu:${GPUS_PER_NODE} per node, plain files`;
    let cluster: Cluster | undefined;
    const runs = new Map<number, SideRun>();
    try {
      cluster = new Cluster(dir, tools, nodes, await freePortRange(nodes), true);
      const upMs = await cluster.up(opts.log);
      details.version = spawnSync(tools.srun, ['--version'], { env: cluster.env, encoding: 'utf8' }).stdout?.trim();
      details.config = { TreeWidth: cluster.config('TreeWidth'), MessageTimeout: cluster.config('MessageTimeout'), SchedulerType: cluster.config('SchedulerType'), SelectTypeParameters: cluster.config('SelectTypeParameters'), RoutePlugin: cluster.config('RoutePlugin') };
      details.slurmConf = readFileSync(cluster.conf, 'utf8');
      // What slurmctld made of topology.conf: proof that topology/tree is in force.
      details.topology = spawnSync(tools.scontrol, ['show', 'topology'], { env: cluster.env, encoding: 'utf8' }).stdout?.trim().split('\n');
      rows.push({ scenario: `(slurm) ${nodes} slurmd on loopback`, metric: 'first slurmd spawned → all nodes idle in sinfo', value: round(upMs), unit: 'ms' });
      if (wantSrun) {
        const s = await srunPart(cluster, sizes.filter((n) => n <= nodes), reps, label, opts.log);
        rows.push(...s.rows);
        details.runs = s.runs;
      }
      if (wantCompare) {
        await cluster.settle();
        for (const occ of occs) runs.set(occ.seed, await runSlurmOccupancy(cluster, occ, gangs, opts.log));
        slurm = { runs };
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      opts.log(`slurm: ${message}`);
      details.error = message;
      // A failed peer is not a Gantry miss: no ok field, the reason in the log and the JSON.
      rows.push({ scenario: label(nodes), metric: `failed: ${message.split('\n')[0]} (details.error has the logs' tails)`, value: 'failed', unit: '', anchor: ANCHOR });
      slurm = { notRun: `failed: ${message.split('\n')[0]}` };
    } finally {
      await cluster?.down();
      // Whatever a failed start left behind (munged, slurmctld) names the temp dir.
      await stopProcessesMentioning(dir, 2000, 2000);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (wantCompare) {
    let gantry: Side = { notRun: '' };
    const gantryRuns = new Map<number, SideRun>();
    const root = mkdtempSync(path.join(os.tmpdir(), 'gantry-bench-vs-slurm-'));
    markers.push(path.basename(root));
    let rig: GantryRig | undefined;
    const g0 = performance.now();
    try {
      if (!existsSync(gantryEntry())) throw new Error('build first: npx tsc -p tsconfig.json');
      rig = await startGantry(root, opts.log);
      for (const occ of occs) gantryRuns.set(occ.seed, await runGantryOccupancy(rig, occ, gangs, opts.log));
      gantry = { runs: gantryRuns };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      opts.log(`gantry: ${message}`);
      details.gantryError = message;
      gantry = { notRun: `failed: ${message.split('\n')[0]}` };
    } finally {
      await rig?.stop().catch(() => undefined);
      // Scheduler, fleet processes, supervisors and sleep ranks all name the temp dir.
      await stopProcessesMentioning(path.basename(root), 2000, 2000);
      rmSync(root, { recursive: true, force: true });
    }
    details.gantryPhaseMs = round(performance.now() - g0);
    const scored = scoreComparison(occs, gangs, gantry, slurm);
    const checks = { gantry: readBackCheck(occs, gantry), slurm: readBackCheck(occs, slurm) };
    const mismatched = [...checks.gantry, ...checks.slurm].filter((c) => c.nodesDiffering !== 0);
    if (mismatched.length) {
      // The same occupancy on both sides is the premise: a difference voids the comparison.
      rows.push({ scenario: '(compare) occupancy read back', metric: `FAILED: busy GPUs per node differ from the plan: ${JSON.stringify(mismatched)}`, value: mismatched.length, unit: 'seeds', target: '0', ok: false });
    } else {
      rows.push(...comparisonRows(scored, gantry, slurm, seeds));
      if (!('notRun' in gantry) && !('notRun' in slurm)) rows.push({ scenario: '(compare) occupancy read back', metric: 'seeds whose busy GPUs per node equal the plan on both sides (Gantry GetTopology, Slurm GresUsed)', value: `${seeds.length}/${seeds.length}`, unit: 'seeds', target: 'all', ok: true });
    }
    for (const d of scored) {
      for (const who of ['gantry', 'slurm'] as const) if (d[who].worse) opts.log(worseCase(d, who, occs.find((o) => o.seed === d.seed)!));
    }
    const setup = (side: Side): number[] => ('notRun' in side ? [] : [...side.runs.values()].map((r) => r.setupMs));
    details.compare = {
      shape: 'n256g8: 8 leaves × 32 nodes × 8 GPUs, 2 spines of 4 leaves (Slurm: leaf01-08, spine1-2, root; Gantry: leaf-0..7, spine-0..1, levels [nvlink, leaf, spine], each node its own nvlink domain)',
      slurmFlags: SLURM_FLAGS,
      gantrySpec: 'Training, ranks × gpusPerRank, topology.preferred: leaf, command sleep; blockers: Training 1 rank × k GPUs on the one uncordoned node',
      yardstick: 'bench/placement-oracle.ts: every subset of leaves, roomiest nodes first; lexicographic (spines, leaves, nodes)',
      seeds,
      gangs,
      occupancies: occs.map((o) => ({ seed: o.seed, busyFraction: round(o.busyFraction, 3), leaves: leafSummary(o), busyPerNode: o.busy.join('') })),
      readBack: checks,
      setupMs: { gantry: setup(gantry), slurm: setup(slurm) },
      gangResults: scored.map(compactDetail),
    };
  }
  details.suiteMs = round(performance.now() - started);
  return { rows, details };
}

export const slurmSuite: BenchSuite = {
  name: 'slurm',
  description: 'the live Slurm peer: (slurm) srun -N<n> true on one slurmd per simulated node (loopback), for DESIGN.md anchor (--slurm-nodes 64,128,256; the largest is the cluster); (compare) where gangs start, Gantry vs Slurm vs the exact optimum on n256g8, 6 seeded 30–60% occupancies',
  async run(opts: BenchOptions): Promise<SuiteResult> {
    // Interrupted (Ctrl-C, a timeout's SIGTERM), the suite's finally blocks would not run: stop
    // every process it started (each command line names one of its temp dirs), then exit.
    const markers: string[] = [];
    const onSignal = (sig: NodeJS.Signals): void => {
      opts.log(`slurm: ${sig}: stopping every process under ${markers.join(', ') || '(none yet)'}`);
      void Promise.all(markers.map((m) => stopProcessesMentioning(m, 1000, 1000))).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      return await runSuite(opts, markers);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
