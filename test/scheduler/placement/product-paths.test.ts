/**
 * Placement through the paths the product really uses, against the exhaustive solver. Each case
 * is a random cluster file and a random job spec, written to files as a user would:
 * - `gantry plan --cluster FILE --job FILE --json` (the command itself, in this process: files
 *   read from disk, parseJobSpec → requestFromJobSpec → placeJob, the JSON it prints);
 * - one scheduling cycle (planCycle) with the job pending, on the same cluster.
 * Clusters carry node labels and several driver/CUDA versions; jobs select on them now and then.
 * Both must place every unit exactly as job-oracle.ts derives from the docs (the mode of each
 * kind, spread, minimum units) and reach the optimum of each unit's mode; and both must agree.
 * The engine-level test (exhaustive.test.ts) hands `place()` requests it builds itself; this one
 * builds nothing the product builds, so a mode lost between the spec and the engine shows here.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { planCycle } from '../../../scheduler/jobs/planner.js';
import { DEFAULT_QUEUE } from '../../../scheduler/queue/index.js';
import { loadClusterText } from '../../../scheduler/topology/index.js';
import type { Placement } from '../../../scheduler/placement/index.js';
import { parseJobSpec, type JobSpec } from '../../../shared/jobspec/index.js';
import { planCommand } from '../../../cli/plan.js';
import { jobRecord } from '../../builders/job.js';
import { randomClusterDoc, randomJobDoc } from '../../builders/plan-input.js';
import { rng } from '../../builders/prng.js';
import { checkJob } from './job-oracle.js';

const CASES = Number(process.env.GANTRY_PRODUCT_PATH_CASES ?? 2000);

const dir = mkdtempSync(join(tmpdir(), 'gantry-product-paths-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface UnitJson {
  level: string;
  domain: string;
  ranks: Array<{ rank: number; node: string; gpus: number[] }>;
  domains: Record<string, string[]>;
  ringCrossings: Record<string, number>;
  counts: Record<string, number>;
  freeGpusLeft: number;
}

/** `gantry plan --json` run as the CLI runs it; its units read back as placements of the cluster's tree. */
async function planViaCli(clusterPath: string, jobPath: string, tree: ReturnType<typeof loadClusterText>['tree']): Promise<{ code: number; fits: boolean; mode: string; units: Placement[]; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await planCommand.run(['--cluster', clusterPath, '--job', jobPath, '--json'], { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env: {}, cwd: dir });
  if (code === 2) return { code, fits: false, mode: '', units: [], stderr };
  const j = JSON.parse(stdout) as Record<string, unknown> & UnitJson & { fits: boolean; mode: string; placements?: UnitJson[]; units: { placed: number } };
  const raw: UnitJson[] = j.placements ?? (j.units.placed === 1 ? [j] : []);
  const units = raw.map(
    (u): Placement => ({
      mode: j.mode as Placement['mode'],
      level: u.level,
      domain: u.domain,
      ranks: u.ranks.map((r) => ({ rank: r.rank, node: r.node, nodeId: tree.nodeId(r.node), gpus: r.gpus })),
      domainsUsed: Object.entries(u.domains).map(([level, names]) => ({ level, names })),
      ringCrossings: Object.entries(u.ringCrossings).map(([level, count]) => ({ level, count })),
      counts: Object.entries(u.counts).map(([level, count]) => ({ level, count })),
      freeGpusLeft: u.freeGpusLeft,
    }),
  );
  return { code, fits: j.fits, mode: j.mode, units, stderr };
}

/** One scheduling cycle with the job pending on an otherwise idle queue. */
function planViaCycle(clusterText: string, spec: JobSpec): { fits: boolean; units: Placement[]; failure?: string } {
  const { tree, snapshot } = loadClusterText(clusterText);
  const job = jobRecord('job-1', {}, { spec });
  const plan = planCycle({
    nowMs: 1_000_000,
    tree,
    snapshot,
    pending: [job],
    active: [],
    awaitingVictims: new Set(),
    queues: () => ({ ...DEFAULT_QUEUE }),
    usage: new Map(),
    halfLifeMs: 86_400_000,
  });
  if (plan.failures.length) return { fits: false, units: [], failure: plan.failures[0]?.message ?? '' };
  const start = plan.starts.find((s) => s.job.id === job.id);
  return { fits: start !== undefined, units: start?.placements ?? [] };
}

interface Tally {
  cases: number;
  byKind: Record<string, number>;
  packed: number;
  filled: number;
  spanning: number;
  sliced: number;
  spread: number;
  partialNodes: number;
  levels3: number;
  selected: number;
  failures: string[];
}

async function run(seed0: number, cases: number): Promise<Tally> {
  const tally: Tally = { cases: 0, byKind: {}, packed: 0, filled: 0, spanning: 0, sliced: 0, spread: 0, partialNodes: 0, levels3: 0, selected: 0, failures: [] };
  for (let c = 0; c < cases; c++) {
    const seed = seed0 + c;
    const r = rng(seed);
    const clusterDoc = randomClusterDoc(r);
    const jobDoc = randomJobDoc(r, clusterDoc.levels);
    const clusterText = stringify(clusterDoc);
    const jobText = stringify(jobDoc);
    const clusterPath = join(dir, 'cluster.yaml');
    const jobPath = join(dir, 'job.yaml');
    writeFileSync(clusterPath, clusterText);
    writeFileSync(jobPath, jobText);
    const where = `seed ${seed}: ${JSON.stringify(jobDoc)}`;
    const spec = parseJobSpec(jobText);
    const loaded = loadClusterText(clusterText);
    // A spec naming a level finer than its slice, or a spread level: the CLI refuses it (exit 2) and the cycle reports a failure.
    const cli = await planViaCli(clusterPath, jobPath, loaded.tree);
    const cycle = planViaCycle(clusterText, spec);
    if (cli.code === 2) {
      if (cycle.failure === undefined) tally.failures.push(`${where}: the CLI refused it (${cli.stderr.trim()}), the cycle did not`);
      continue;
    }
    tally.cases++;
    tally.byKind[spec.kind] = (tally.byKind[spec.kind] ?? 0) + 1;
    if (clusterDoc.levels.length === 3) tally.levels3++;
    const check = checkJob(loaded.snapshot.clone(), spec, cli.units, cli.fits);
    for (const f of check.failures) tally.failures.push(`${where}: gantry plan: ${f}`);
    const cycleCheck = checkJob(loaded.snapshot.clone(), spec, cycle.units, cycle.fits, true);
    for (const f of cycleCheck.failures) tally.failures.push(`${where}: planner cycle: ${f}`);
    const nodesOf = (us: Placement[]): string => JSON.stringify(us.map((u) => u.ranks.map((x) => [x.node, x.gpus])));
    if (cli.fits !== cycle.fits || (cycle.fits && nodesOf(cli.units) !== nodesOf(cycle.units))) tally.failures.push(`${where}: gantry plan and the planner cycle placed it differently`);
    if (cli.units.length) {
      if (cli.mode === 'pack') tally.packed++;
      else tally.filled++;
      if (cli.units.some((u) => new Set(u.ranks.map((x) => x.node)).size > 1)) tally.spanning++;
      if (spec.topology.slice && spec.topology.slice.size > 1) tally.sliced++;
      if (spec.kind === 'Inference' && spec.spread && cli.units.length > 1) tally.spread++;
      const partial = new Set(clusterDoc.nodes.filter((n) => Array.isArray(n.usedGpus) && (n.usedGpus as unknown[]).length < (n.gpus as number)).map((n) => n.name));
      if (cli.units.some((u) => u.ranks.some((x) => partial.has(x.node)))) tally.partialNodes++;
      if (spec.nodeSelector || spec.accelerator.minDriver || spec.accelerator.minCuda) tally.selected++;
    }
  }
  return tally;
}

t.test(`gantry plan and a planner cycle equal the exhaustive optimum, per kind, on ${CASES} random cluster files and job specs`, async (t) => {
  const tally = await run(1, CASES);
  t.same(tally.failures.slice(0, 8), [], `${tally.failures.length} failures`);
  // The mix must exercise what it claims to.
  t.ok(tally.cases > CASES * 0.8, `${tally.cases} of ${CASES} specs valid on their cluster`);
  t.ok((tally.byKind.Training ?? 0) > CASES * 0.4 && (tally.byKind.Inference ?? 0) > CASES * 0.1 && (tally.byKind.Batch ?? 0) > CASES * 0.1, JSON.stringify(tally.byKind));
  t.ok(tally.packed > CASES * 0.2 && tally.filled > CASES * 0.15, `placed packed ${tally.packed}, filled ${tally.filled}`);
  t.ok(tally.spanning > CASES * 0.1, `${tally.spanning} jobs with a unit spanning nodes`);
  t.ok(tally.sliced > CASES * 0.03, `${tally.sliced} placed with slices`);
  t.ok(tally.spread > CASES * 0.02, `${tally.spread} services spread over several replicas`);
  t.ok(tally.partialNodes > CASES * 0.2, `${tally.partialNodes} placed on a partly used node`);
  t.ok(tally.levels3 > CASES * 0.4, `${tally.levels3} on three levels above the node`);
  t.ok(tally.selected > CASES * 0.05, `${tally.selected} placed with a node selector or a minimum version`);
});

t.test("the issue's cases: Training that names a level is packed through gantry plan and the cycle", async (t) => {
  // leaf0 holds 7 ranks × 2 GPUs on two nodes (n00 4 ranks + n08 3); least-free-first took leaf1's three.
  const nodes = [
    ['n00', 'leaf0', 'spine0', 8, 0],
    ['n02', 'leaf0', 'spine0', 8, 0],
    ['n05', 'leaf0', 'spine0', 8, 1],
    ['n06', 'leaf0', 'spine0', 8, 8],
    ['n08', 'leaf0', 'spine0', 8, 2],
    ['n09', 'leaf0', 'spine0', 8, 4],
    ['n01', 'leaf1', 'spine1', 8, 8],
    ['n03', 'leaf1', 'spine1', 4, 0],
    ['n04', 'leaf1', 'spine1', 8, 2],
    ['n07', 'leaf1', 'spine1', 8, 4],
  ] as const;
  const clusterText = stringify({
    levels: ['leaf', 'spine'],
    nodes: nodes.map(([name, leaf, spine, gpus, used]) => ({ name, gpus, domains: { leaf, spine }, ...(used ? { usedGpus: Array.from({ length: used }, (_, i) => i) } : {}) })),
  });
  const cases = [
    { job: { kind: 'Training', name: 't', ranks: 7, gpusPerRank: 2, topology: { required: 'leaf' }, command: ['x'] }, nodes: 2, leaf: 'leaf0' },
    // Two ranks × 2 GPUs fit on one node: never two nodes. The tightest node with 4 free GPUs in the fuller leaf (objective 4).
    { job: { kind: 'Training', name: 't', ranks: 2, gpusPerRank: 2, topology: { required: 'spine', preferred: 'leaf' }, command: ['x'] }, nodes: 1, leaf: 'leaf1' },
  ];
  const clusterPath = join(dir, 'issue-cluster.yaml');
  writeFileSync(clusterPath, clusterText);
  for (const c of cases) {
    const jobPath = join(dir, 'issue-job.yaml');
    writeFileSync(jobPath, stringify(c.job));
    const loaded = loadClusterText(clusterText);
    const cli = await planViaCli(clusterPath, jobPath, loaded.tree);
    t.equal(cli.mode, 'pack', 'gantry plan says pack');
    const used = new Set(cli.units[0]?.ranks.map((r) => r.node));
    t.equal(used.size, c.nodes, `${JSON.stringify(c.job.topology)}: ${c.nodes} node(s)`);
    t.ok([...used].every((n) => nodes.find((x) => x[0] === n)?.[1] === c.leaf), `all in ${c.leaf}`);
    const cycle = planViaCycle(clusterText, parseJobSpec(stringify(c.job)));
    t.same(cycle.units[0]?.ranks.map((r) => r.node), cli.units[0]?.ranks.map((r) => r.node), 'the cycle places it the same way');
  }
});
