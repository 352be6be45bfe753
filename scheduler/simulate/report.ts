/**
 * What `gantry simulate` reports: the contract between the simulator (which fills it), the
 * terminal table, the JSON output (byte-identical for the same inputs: every number rounded,
 * every list in a fixed order, no wall-clock values except under `timing`), and the plots
 * (plots.ts: SVG and one HTML report, drawn from this object alone).
 *
 * Units are in the names: seconds of virtual time (`S`), microseconds of real time (`Us`),
 * shares in [0, 1].
 */

/** Gang-size buckets for queueing delay, by GPUs requested. */
export const GANG_SIZE_BUCKETS = ['1', '2-4', '5-8', '9-32', '33+'] as const;
export type GangSizeBucket = (typeof GANG_SIZE_BUCKETS)[number];

export function gangSizeBucket(gpus: number): GangSizeBucket {
  if (gpus <= 1) return '1';
  if (gpus <= 4) return '2-4';
  if (gpus <= 8) return '5-8';
  if (gpus <= 32) return '9-32';
  return '33+';
}

export interface Distribution {
  n: number;
  meanS: number;
  p50S: number;
  p99S: number;
}

export interface QueueDelayBucket extends Distribution {
  bucket: GangSizeBucket;
  /** Empirical CDF, at most 100 points: [delay in seconds, share of the bucket's jobs with at most that delay], ascending. */
  cdf: Array<[number, number]>;
}

/** One sample of the cluster over time (at most 500 per run, evenly spaced in virtual time). */
export interface OccupancySample {
  tS: number;
  /** GPUs held by running gangs. */
  busyGpus: number;
  /** Free GPUs that cannot host a typical gang (see Fragmentation). */
  strandedGpus: number;
  pendingJobs: number;
}

export interface Fragmentation {
  /** The gang that defines "typical": GPUs per node and nodes (the trace's median multi-GPU gang). */
  typicalGang: { nodes: number; gpusPerNode: number };
  /** Mean over time of free GPUs that cannot be part of a typical gang, as a share of all free GPUs. */
  meanStrandedShare: number;
}

export interface LocalityStats {
  /** Share of gangs (more than one GPU) started within the smallest domain that could hold them on the empty cluster. */
  minimalDomainShare: number;
  /** Per level name (finest first, `node` excluded): how many started gangs span more than one domain of that level. */
  crossingsByLevel: Record<string, number>;
}

export interface FairnessEntry {
  kind: 'queue' | 'user';
  key: string;
  jobs: number;
  /** Finish-time fairness: JCT / (run time alone on the cluster); 1 is ideal. */
  ftfMean: number;
  ftfMax: number;
}

/** Domain use at the moment of peak busy GPUs, for the heat map. */
export interface TopologyHeat {
  tS: number;
  /** The level the cells are (the finest level above `node`). */
  level: string;
  /** The level that groups the cells into rows (the one above it, or `cluster`). */
  rowLevel: string;
  cells: Array<{ domain: string; row: string; usedGpus: number; totalGpus: number }>;
}

export interface SimRun {
  policy: string;
  /** Offered load the arrivals were scaled to (null: as recorded). */
  load: number | null;
  /** Run-time slowdown per topology level a gang crosses (0.1 = 10% per level). */
  localityPenalty: number;
  jobs: number;
  completed: number;
  /** Jobs that never fit the cluster (too large), left out of every figure. */
  rejected: number;
  jct: Distribution;
  queueDelay: Distribution;
  queueDelayByGangSize: QueueDelayBucket[];
  makespanS: number;
  /** GPU-time used / (GPUs × makespan). */
  occupancy: number;
  series: OccupancySample[];
  fragmentation: Fragmentation;
  locality: LocalityStats;
  /** Empty when the trace has neither queue nor user columns. */
  fairness: FairnessEntry[];
  heat: TopologyHeat;
  /**
   * Every gang start, in start order: the job (`job-<n>`, n its position in the trace as sorted by
   * submit time, jobs that never fit skipped), when, and each rank's node and GPUs. Only when asked
   * for (`gantry simulate --starts`; the faithfulness test compares them with the live scheduler's).
   * Added by the simulator helper (optional: the plots ignore it).
   */
  starts?: Array<{ job: string; tS: number; ranks: Array<{ node: string; gpus: number[] }> }>;
}

export interface SimReport {
  version: 1;
  cluster: { label: string; nodes: number; gpus: number; levels: string[] };
  trace: { name: string; jobs: number; spanS: number; recordedLoad: number };
  runs: SimRun[];
  /**
   * Real-time figures (decision time per job, wall time): they differ between runs, so they are
   * left out of the JSON unless asked for (`--timing`), which keeps the JSON byte-identical.
   */
  timing?: Array<{ policy: string; load: number | null; localityPenalty: number; decisionUs: { mean: number; p99: number }; wallMs: number }>;
}
