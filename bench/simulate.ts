/**
 * `npm run bench -- simulate`: `gantry simulate`'s speed and the Philly table. The whole Philly
 * trace (82,247 jobs) on Tiresias's n256g8 shape (2,048 GPUs), policy gantry, at the recorded
 * offered load and at 0.9: wall time (target < 60 s each) and decision time per job; then, unless
 * --quick, the table at loads 0.7, 0.9, 1.1 × the three policies at a 10% locality penalty
 * (--quick: the first 20,000 jobs for the table).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { packageRoot } from '../shared/procs/index.js';
import { parseTrace, policiesNamed, runSimulation, tiresiasCluster, type SimReport } from '../scheduler/simulate/index.js';
import type { BenchOptions, BenchRow, BenchSuite, SuiteResult } from './suite.js';

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

export const simulateSuite: BenchSuite = {
  name: 'simulate',
  description: 'gantry simulate: the Philly trace on n256g8 (wall time, decision time per job), and the Philly table',
  run(opts: BenchOptions): SuiteResult {
    const fx = join(packageRoot(), 'fixtures', 'traces');
    const cluster = tiresiasCluster(readFileSync(join(fx, 'tiresias', 'n256g8.csv'), 'utf8'), 'n256g8.csv');
    const trace = parseTrace(readFileSync(join(fx, 'philly', 'philly.csv'), 'utf8'), 'philly.csv');
    const rows: BenchRow[] = [];
    const details: Record<string, unknown> = {};
    const clock = (): number => performance.now();
    const speed = (label: string, load: number | null): SimReport => {
      opts.log(`simulate: Philly on n256g8, gantry, load ${load ?? 'as recorded'} ...`);
      const t0 = performance.now();
      const r = runSimulation({ cluster, trace, policies: policiesNamed(['gantry']), loads: [load], localities: [0.1], clock });
      const wallS = (performance.now() - t0) / 1000;
      const timing = r.timing![0]!;
      rows.push({ scenario: `Philly ${trace.jobs.length.toLocaleString('en-US')} jobs, n256g8, gantry, ${label}`, metric: 'wall time', value: round(wallS, 1), unit: 's', target: '< 60', ok: wallS < 60 });
      rows.push({ scenario: `Philly, gantry, ${label}`, metric: 'decision time per job (mean; p99)', value: `${timing.decisionUs.mean}; ${timing.decisionUs.p99}`, unit: 'µs' });
      return r;
    };
    const recorded = speed('load as recorded', null);
    rows.push({ scenario: 'Philly on n256g8', metric: 'offered load as recorded', value: recorded.trace.recordedLoad, unit: '' });
    details.recorded = recorded;
    details.load09 = speed('load 0.9', 0.9);
    if (!opts.only.length || opts.only.some((o) => 'table'.startsWith(o))) {
      const limit = opts.quick ? 20_000 : undefined;
      opts.log(`simulate: the Philly table (${limit ?? 'all'} jobs; 3 loads × 3 policies, locality 10%) ...`);
      const table = runSimulation({ cluster, trace, policies: policiesNamed(['gantry', 'topology-blind', 'first-fit']), loads: [0.7, 0.9, 1.1], localities: [0.1], ...(limit ? { limit } : {}), clock, onProgress: (run, runs, done, total) => done === total && opts.log(`  run ${run + 1}/${runs} done`) });
      for (const r of table.runs) {
        rows.push({ scenario: `Philly table${limit ? ` (first ${limit})` : ''}, ${r.policy}, load ${r.load}`, metric: 'JCT mean; p99; wait mean; occupancy; minimal', value: `${round(r.jct.meanS / 3600, 2)} h; ${round(r.jct.p99S / 3600, 1)} h; ${round(r.queueDelay.meanS / 3600, 2)} h; ${round(100 * r.occupancy, 1)}%; ${round(100 * r.locality.minimalDomainShare, 1)}%`, unit: '' });
      }
      details.table = { ...table, runs: table.runs.map((r) => ({ ...r, series: undefined, heat: undefined })) };
    }
    return { rows, details };
  },
};
