/**
 * Pure: which job labels each GPU's series carry under `metrics.jobLabels` (agent/metrics.ts), from
 * the ranks that hold GPUs now (TaskRunner.holdings()). No I/O, no clock.
 *
 * Mirrors dcgm-exporter's pod mapping: the label set is fixed (`job_id`, `rank`, `owner`) and a GPU
 * no rank holds carries them empty, which Prometheus reads as absent, so an idle GPU's series is the
 * very series it is without the flag. A GPU has one series per metric at a time: the labelled one
 * while a rank holds it, the unlabelled one otherwise. `job_id`, not `job`: Prometheus gives every
 * scraped series its scrape job as `job` and would rename ours to `exported_job`.
 */

/** The labels, in the order they follow the GPU's own. */
export const JOB_LABEL_NAMES = ['job_id', 'rank', 'owner'] as const;
export type JobLabelName = (typeof JOB_LABEL_NAMES)[number];
export type JobLabels = Record<JobLabelName, string>;

/** Longest label value kept (characters); a longer one is cut there. Job ids are at most 128 already. */
export const JOB_LABEL_MAX_CHARS = 128;

/** The labels of a GPU no rank holds. */
export const NO_JOB: Readonly<JobLabels> = Object.freeze({ job_id: '', rank: '', owner: '' });

/** One starting or running rank of this node and the GPUs it holds. */
export interface GpuHolding {
  jobId: string;
  rank: number;
  epoch: number;
  /** GPU indexes of this node (StartTask.gpus). */
  gpus: readonly number[];
  /** The account the rank runs as (its job's runAs, resolved; the agent's own user when empty). */
  owner: string;
}

export function capLabelValue(v: string, max = JOB_LABEL_MAX_CHARS): string {
  // Cut by code points, so a cut never leaves half a surrogate pair.
  const chars = [...v];
  return chars.length <= max ? v : chars.slice(0, max).join('');
}

/**
 * Labels per GPU index. Two ranks holding one GPU (an epoch still stopping while its successor
 * starts) give it one series, not two: the later in (job, rank, epoch) order labels it.
 */
export function jobLabelsByGpu(holdings: readonly GpuHolding[]): Map<number, JobLabels> {
  const ordered = [...holdings].sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : a.rank - b.rank || a.epoch - b.epoch));
  const out = new Map<number, JobLabels>();
  for (const h of ordered) {
    const labels: JobLabels = { job_id: capLabelValue(h.jobId), rank: String(h.rank), owner: capLabelValue(h.owner) };
    for (const g of h.gpus) if (Number.isSafeInteger(g) && g >= 0) out.set(g, labels);
  }
  return out;
}
