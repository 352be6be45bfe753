/**
 * `npm run bench -- simulate`: `gantry simulate`'s speed and the Philly table. The whole Philly
 * trace (82,247 jobs) on Tiresias's n256g8 shape (2,048 GPUs), policy gantry, at the recorded
 * offered load and at 0.9: wall time (target < 60 s each) and decision time per job; then, unless
 * --quick, the table at loads 0.7, 0.9, 1.1 × four policies (gantry, gantry-no-wait, topology-blind, first-fit) at a 10% locality penalty, each
 * run's wall time held to the same < 60 s (--quick: the first 20,000 jobs for the table, untimed).
 *
 * `--only "(nvl72)"`: the NVL72 trade-off (issue 22; docs/simulate.md "The NVL72 trade-off"):
 * the scenario (c) mix as seeded traces (bench/nvl72-mix.ts, 3,000 jobs, seeds 1-3; --quick: seed
 * 1 only) on nvl72:32 at load 0.9, locality penalty 0 / 0.1 / 0.3, topology-blind against gantry,
 * required-minimal and the locality-wait variants, each checked against the four targets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { packageRoot } from '../shared/procs/index.js';
import { nvl72Cluster, parseTrace, policiesNamed, runSimulation, tiresiasCluster, type SimReport, type SimRun } from '../scheduler/simulate/index.js';
import { nvl72MixCsv } from './nvl72-mix.js';
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
    const want = (label: string): boolean => !opts.only.length || opts.only.some((o) => label.startsWith(o));
    if (want('(nvl72)')) details.nvl72 = nvl72TradeOff(opts, rows);
    if (!want('philly') && !want('table')) return { rows, details };
    const recorded = speed('load as recorded', null);
    rows.push({ scenario: 'Philly on n256g8', metric: 'offered load as recorded', value: recorded.trace.recordedLoad, unit: '' });
    details.recorded = recorded;
    details.load09 = speed('load 0.9', 0.9);
    if (want('table')) {
      const limit = opts.quick ? 20_000 : undefined;
      opts.log(`simulate: the Philly table (${limit ?? 'all'} jobs; 3 loads × 4 policies, locality 10%) ...`);
      const table = runSimulation({ cluster, trace, policies: policiesNamed(['gantry', 'gantry-no-wait', 'topology-blind', 'first-fit']), loads: [0.7, 0.9, 1.1], localities: [0.1], ...(limit ? { limit } : {}), clock, onProgress: (run, runs, done, total) => done === total && opts.log(`  run ${run + 1}/${runs} done`) });
      for (const r of table.runs) {
        rows.push({ scenario: `Philly table${limit ? ` (first ${limit})` : ''}, ${r.policy}, load ${r.load}`, metric: 'JCT mean; p99; wait mean; occupancy; minimal', value: `${round(r.jct.meanS / 3600, 2)} h; ${round(r.jct.p99S / 3600, 1)} h; ${round(r.queueDelay.meanS / 3600, 2)} h; ${round(100 * r.occupancy, 1)}%; ${round(100 * r.locality.minimalDomainShare, 1)}%`, unit: '' });
        // Each run's own wall time: every policy and load of the whole trace is held to the same < 60 s.
        const time = table.timing?.find((x) => x.policy === r.policy && x.load === r.load && x.localityPenalty === r.localityPenalty);
        if (time) rows.push({ scenario: `Philly table${limit ? ` (first ${limit})` : ''}, ${r.policy}, load ${r.load}`, metric: 'wall time', value: round(time.wallMs / 1000, 1), unit: 's', ...(limit ? {} : { target: '< 60', ok: time.wallMs < 60_000 }) });
      }
      details.table = { ...table, runs: table.runs.map((r) => ({ ...r, series: undefined, heat: undefined })) };
    }
    return { rows, details };
  },
};

/** The NVL72 trade-off's setting (docs/simulate.md). */
export const NVL72_TRADE_OFF = {
  racks: 32,
  jobs: 3000,
  seeds: [1, 2, 3],
  load: 0.9,
  localities: [0, 0.1, 0.3],
  policies: ['gantry-no-wait', 'required-minimal', 'wait-bounded-1800', 'wait-reserve-1800', 'wait-reserve-2400', 'wait-reserve-3600', 'wait-aging', 'wait-reserve-by-size', 'wait-reserve-by-size-cap-4h'],
} as const;

/**
 * The four targets against topology-blind (same seed, same penalty): which hold. Occupancy two
 * ways: as the simulator reports it (GPU-time held / (GPUs × makespan): a spread gang slowed by the
 * locality penalty holds its GPUs longer, which counts as busy) and useful (the trace's own GPU-time
 * / (GPUs × makespan): what was asked for, however placed). They agree at penalty 0; the occupancy
 * target (ok[0]) is judged on the useful figure.
 */
export function tradeOffTargets(r: SimRun, blind: SimRun, usefulGpuS: number, gpus: number) {
  const useful = (x: SimRun): number => usefulGpuS / (gpus * x.makespanS);
  const occupancyPts = 100 * (r.occupancy - blind.occupancy);
  const usefulPts = 100 * (useful(r) - useful(blind));
  const minimal = r.locality.minimalDomainShare;
  const jctRatio = r.jct.meanS / blind.jct.meanS;
  const p99WaitRatio = r.queueDelay.p99S / blind.queueDelay.p99S;
  const ok: [boolean, boolean, boolean, boolean] = [usefulPts >= -1, minimal >= 0.95, jctRatio <= 1.05, p99WaitRatio <= 1.25];
  return { useful: useful(r), occupancyPts, usefulPts, minimal, jctRatio, p99WaitRatio, ok };
}

/** One seed of the trade-off: every policy × penalty against topology-blind. */
export function nvl72Seed(seed: number): Array<{ seed: number; localityPenalty: number; policy: string; occupancy: number; usefulOccupancy: number; minimalDomainShare: number; jctMeanS: number; queueDelayP99S: number; occupancyPts: number; usefulPts: number; jctRatio: number; p99WaitRatio: number; ok: boolean[] }> {
  const s = NVL72_TRADE_OFF;
  const trace = parseTrace(nvl72MixCsv(seed, s.jobs), `nvl72-mix-s${seed}.csv`);
  const r = runSimulation({ cluster: nvl72Cluster(s.racks), trace, policies: policiesNamed(['topology-blind', ...s.policies]), loads: [s.load], localities: [...s.localities] });
  const work = trace.jobs.reduce((a, j) => a + j.gpus * j.durationS, 0);
  return r.runs.map((run) => {
    const blind = r.runs.find((b) => b.policy === 'topology-blind' && b.localityPenalty === run.localityPenalty)!;
    const t = tradeOffTargets(run, blind, work, r.cluster.gpus);
    return { seed, localityPenalty: run.localityPenalty, policy: run.policy, occupancy: run.occupancy, usefulOccupancy: round(t.useful, 4), minimalDomainShare: t.minimal, jctMeanS: run.jct.meanS, queueDelayP99S: run.queueDelay.p99S, occupancyPts: round(t.occupancyPts, 2), usefulPts: round(t.usefulPts, 2), jctRatio: round(t.jctRatio, 3), p99WaitRatio: round(t.p99WaitRatio, 3), ok: t.ok };
  });
}

function nvl72TradeOff(opts: BenchOptions, rows: BenchRow[]): unknown {
  const s = NVL72_TRADE_OFF;
  const seeds = opts.quick ? s.seeds.slice(0, 1) : s.seeds;
  const all = new Map<string, boolean>();
  const out: unknown[] = [];
  for (const seed of seeds) {
    opts.log(`simulate (nvl72): seed ${seed}, ${s.jobs} jobs on nvl72:${s.racks}, load ${s.load}, ${s.policies.length + 1} policies × ${s.localities.length} penalties ...`);
    for (const x of nvl72Seed(seed)) {
      const ok = x.ok.every(Boolean);
      if (x.policy !== 'topology-blind') all.set(x.policy, (all.get(x.policy) ?? true) && ok);
      const sign = (v: number): string => `${v >= 0 ? '+' : '−'}${Math.abs(v)}`;
      rows.push({
        scenario: `(nvl72) seed ${seed}, penalty ${x.localityPenalty}, ${x.policy}`,
        metric: 'occupancy, useful (vs blind, pts); minimal; JCT mean / blind; p99 wait / blind',
        value: `${round(100 * x.occupancy, 2)}% (${sign(x.occupancyPts)}), ${round(100 * x.usefulOccupancy, 2)}% (${sign(x.usefulPts)}); ${round(100 * x.minimalDomainShare, 1)}%; ${x.jctRatio}; ${x.p99WaitRatio}`,
        unit: '',
        ...(x.policy === 'topology-blind' ? {} : { target: 'useful ≥ −1 pt; ≥ 95%; ≤ 1.05; ≤ 1.25', ok }),
      });
      out.push(x);
    }
  }
  for (const [policy, ok] of all) rows.push({ scenario: `(nvl72) ${policy}, every seed and penalty`, metric: 'all four targets', value: ok ? 'yes' : 'no', unit: '', target: 'all four', ok });
  return { setting: { ...s, seeds }, runs: out };
}
