/** A small hand-built SimReport (scheduler/simulate/report.ts) for the plots' tests: deterministic, no simulator. */
import { GANG_SIZE_BUCKETS, type SimReport, type SimRun } from '../../scheduler/simulate/report.js';

export interface SimReportShape {
  policies?: string[];
  loads?: Array<number | null>;
  penalties?: number[];
  /** Occupancy samples per run. */
  samples?: number;
  /** Heat-map rows (leaves) × cells (racks) per row. */
  rows?: number;
  cellsPerRow?: number;
}

export function simReport(shape: SimReportShape = {}): SimReport {
  const policies = shape.policies ?? ['gantry', 'topology-blind', 'first-fit'];
  const loads = shape.loads ?? [0.7, 0.9];
  const penalties = shape.penalties ?? [0, 0.1, 0.3];
  const samples = shape.samples ?? 20;
  const rows = shape.rows ?? 2;
  const cellsPerRow = shape.cellsPerRow ?? 3;
  const gpusPerCell = 72;
  const gpus = rows * cellsPerRow * gpusPerCell;
  const runs: SimRun[] = [];
  policies.forEach((policy, pi) => {
    for (const load of loads) {
      for (const localityPenalty of penalties) {
        const k = pi + 1 + (load ?? 0.5) * 10 + localityPenalty * 5;
        const delay = (base: number) => ({ n: 10, meanS: base, p50S: base / 2, p99S: base * 3 });
        runs.push({
          policy,
          load,
          localityPenalty,
          jobs: 100,
          completed: 98,
          rejected: 2,
          jct: delay(100 * k),
          queueDelay: delay(10 * k),
          queueDelayByGangSize: GANG_SIZE_BUCKETS.map((bucket, bi) => ({
            bucket,
            ...delay(bi * k),
            cdf: Array.from({ length: 5 }, (_, i): [number, number] => [bi === 0 ? 0 : Math.round(i * i * k * (bi + 1)), (i + 1) / 5]),
          })),
          makespanS: 1000 * k,
          occupancy: Math.min(1, 0.5 + 0.05 * k),
          series: Array.from({ length: samples }, (_, i) => ({ tS: i * 60, busyGpus: Math.round((gpus * ((i * (pi + 3)) % samples)) / samples), strandedGpus: i % 7, pendingJobs: i % 5 })),
          fragmentation: { typicalGang: { nodes: 2, gpusPerNode: 4 }, meanStrandedShare: 0.1 * pi },
          locality: { minimalDomainShare: 1 - 0.1 * pi, crossingsByLevel: { nvlink: pi, leaf: 0 } },
          fairness: [],
          heat: {
            tS: 120 * (pi + 1),
            level: 'nvlink',
            rowLevel: 'leaf',
            cells: Array.from({ length: rows * cellsPerRow }, (_, i) => ({
              domain: `nvl72-${String(i).padStart(3, '0')}`,
              row: `leaf-${Math.floor(i / cellsPerRow)}`,
              usedGpus: (i * 17 * (pi + 1)) % (gpusPerCell + 1),
              totalGpus: gpusPerCell,
            })),
          },
        });
      }
    }
  });
  return {
    version: 1,
    cluster: { label: `NVL72 ×${rows * cellsPerRow}`, nodes: rows * cellsPerRow * 18, gpus, levels: ['nvlink', 'leaf'] },
    trace: { name: 'hand-built <fixture> & co', jobs: 100, spanS: 3600, recordedLoad: 0.18 },
    runs,
  };
}
