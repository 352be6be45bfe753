/**
 * One `gantry simulate` run, pure: every policy × load × locality penalty of the request through
 * the engine, and the report (report.ts). Runs go in a fixed order (policies as named, then loads,
 * then penalties), so the report is the same for the same inputs.
 */
import { buildTopology } from '../topology/index.js';
import type { SimCluster } from './clusters.js';
import { simulate } from './engine.js';
import { InvalidArgumentError } from '../../shared/errors/index.js';
import { gangShape, offeredLoad, scaleBy } from './load.js';
import { round, runFigures, typicalGang } from './metrics.js';
import type { Policy } from './policies.js';
import type { SimReport, SimRun } from './report.js';
import type { Trace } from './trace.js';

export interface SimulationRequest {
  cluster: SimCluster;
  trace: Trace;
  policies: readonly Policy[];
  /** Offered loads (null: as recorded). */
  loads: ReadonlyArray<number | null>;
  localities: readonly number[];
  /** Only the first N jobs of the trace (after sorting by submit time). */
  limit?: number;
  /** Real milliseconds (the CLI's performance.now): with it the report carries `timing`. */
  clock?: () => number;
  /** Called as runs progress: the run's index, how many runs, jobs done of the run's total. */
  onProgress?: (run: number, runs: number, done: number, total: number) => void;
  /** Keep every start's placement per run (SimRun.starts). */
  recordStarts?: boolean;
}

export function runSimulation(req: SimulationRequest): SimReport {
  const tree = buildTopology(req.cluster.levels, req.cluster.nodes);
  const jobs = req.limit !== undefined ? req.trace.jobs.slice(0, req.limit) : req.trace.jobs;
  const fitting = jobs.filter((j) => j.gpus <= tree.totalGpus);
  const recordedLoad = offeredLoad(fitting, tree.totalGpus);
  const typical = typicalGang(jobs, tree.maxGpusPerNode, gangShape);
  const runs: SimRun[] = [];
  const timing: NonNullable<SimReport['timing']> = [];
  const total = req.policies.length * req.loads.length * req.localities.length;
  let index = 0;
  for (const policy of req.policies) {
    for (const load of req.loads) {
      if (load !== null && !(load > 0)) throw new InvalidArgumentError('--load', `must be > 0, got ${load}`);
      if (load !== null && !(recordedLoad > 0 && Number.isFinite(recordedLoad))) throw new InvalidArgumentError('--load', 'the trace has no arrival span to scale (all jobs submitted at once)');
      const scaled = load === null ? jobs : scaleBy(jobs, recordedLoad / load);
      for (const localityPenalty of req.localities) {
        const i = index++;
        const r = simulate({
          cluster: req.cluster,
          tree,
          jobs: scaled,
          policy,
          localityPenalty,
          typical,
          queuesScheduled: req.trace.queuesScheduled,
          ...(req.clock ? { clock: req.clock } : {}),
          ...(req.onProgress ? { onProgress: (done: number, n: number) => req.onProgress!(i, total, done, n) } : {}),
          ...(req.recordStarts ? { recordStarts: true } : {}),
        });
        const run: SimRun = runFigures(r, { policy: policy.name, load, localityPenalty, typical, hasQueue: req.trace.hasQueue, hasUser: req.trace.hasUser });
        if (r.starts) run.starts = r.starts;
        runs.push(run);
        if (req.clock) {
          const d = [...r.decisionUs].sort((a, b) => a - b);
          const mean = d.length ? d.reduce((a, b) => a + b, 0) / d.length : 0;
          const p99 = d.length ? d[Math.min(d.length - 1, Math.ceil(0.99 * d.length) - 1)]! : 0;
          timing.push({ policy: policy.name, load, localityPenalty, decisionUs: { mean: round(mean, 1), p99: round(p99, 1) }, wallMs: round(r.wallMs, 1) });
        }
      }
    }
  }
  const span = jobs.length ? jobs[jobs.length - 1]!.submitS - jobs[0]!.submitS : 0;
  return {
    version: 1,
    cluster: { label: req.cluster.label, nodes: tree.nodeCount, gpus: tree.totalGpus, levels: tree.levels.slice(1, tree.top) as string[] },
    trace: { name: req.trace.name, jobs: jobs.length, spanS: round(span), recordedLoad: round(recordedLoad, 4) },
    runs,
    ...(req.clock ? { timing } : {}),
  };
}
