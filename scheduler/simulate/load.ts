/**
 * Offered load and gang shapes, pure.
 *
 * Offered load = Σ (GPUs × run time) / (cluster GPUs × arrival span), span = last submit − first.
 * `scaleArrivals` stretches or compresses every inter-arrival gap by one factor so the trace offers
 * the target load; run times and sizes are kept.
 */
import { InvalidArgumentError } from '../../shared/errors/index.js';
import type { TraceJob } from './trace.js';

export function offeredLoad(jobs: readonly TraceJob[], clusterGpus: number): number {
  if (jobs.length < 2) return 0;
  const span = jobs[jobs.length - 1]!.submitS - jobs[0]!.submitS;
  if (span <= 0) return Infinity;
  let work = 0;
  for (const j of jobs) work += j.gpus * j.durationS;
  return work / (clusterGpus * span);
}

/** The jobs with submit times scaled so their offered load is `target` (null: as recorded). */
export function scaleArrivals(jobs: readonly TraceJob[], clusterGpus: number, target: number | null): TraceJob[] {
  if (target === null) return [...jobs];
  if (!(target > 0)) throw new InvalidArgumentError('--load', `must be > 0, got ${target}`);
  const recorded = offeredLoad(jobs, clusterGpus);
  if (!Number.isFinite(recorded) || recorded <= 0) throw new InvalidArgumentError('--load', 'the trace has no arrival span to scale (all jobs submitted at once)');
  return scaleBy(jobs, recorded / target);
}

/** Every inter-arrival gap times `f`, submit times relative to the first job. */
export function scaleBy(jobs: readonly TraceJob[], f: number): TraceJob[] {
  const t0 = jobs[0]?.submitS ?? 0;
  return jobs.map((j) => ({ ...j, submitS: (j.submitS - t0) * f }));
}

/**
 * A job of `gpus` GPUs as a gang: one rank on one node when it fits one (`perNode`: the trace's
 * gpus_per_node, else the cluster's largest node), else ranks of the largest divisor of `gpus` not
 * above `perNode` (12 GPUs on 8-GPU nodes: 2 ranks × 6; on 4-GPU nodes: 3 × 4).
 */
export function gangShape(gpus: number, perNode: number): { ranks: number; gpusPerRank: number } {
  if (gpus <= perNode) return { ranks: 1, gpusPerRank: gpus };
  for (let g = perNode; g >= 1; g--) if (gpus % g === 0) return { ranks: gpus / g, gpusPerRank: g };
  return { ranks: gpus, gpusPerRank: 1 };
}
