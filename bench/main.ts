/**
 * `npm run bench` (node dist/bench/main.js [suite ...] [--quick]): runs benchmark
 * suites, prints one table per suite and writes the same figures as JSON to
 * bench/results/<suite>.json. A new suite is a file exporting a BenchSuite, added to
 * SUITES below.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import os from 'node:os';
import { eventsSuite } from './events.js';
import { haSuite } from './ha.js';
import { jobsSuite } from './jobs.js';
import { placementSuite } from './placement.js';
import { reportsSuite } from './reports.js';
import { simulateSuite } from './simulate.js';
import { slurmSuite } from './slurm.js';
import { telemetrySuite } from './telemetry.js';
import type { BenchRow, BenchSuite } from './suite.js';

const SUITES: readonly BenchSuite[] = [placementSuite, jobsSuite, telemetrySuite, eventsSuite, slurmSuite, reportsSuite, haSuite, simulateSuite];

/** Size flags passed to the suites as BenchOptions.params. */
const PARAM_FLAGS = ['agents', 'stored-jobs', 'submits', 'clients', 'light-n', 'agent-state', 'encoding', 'slurm-nodes', 'report-agents', 'mtls', 'containment', 'ha-ttl-ms', 'ha-runs', 'ha-agents', 'ha-steady-s', 'ha-gang'] as const;

function table(rows: readonly BenchRow[]): string {
  const head = ['scenario', 'metric', 'value', 'unit', 'target', 'ok', 'anchor'];
  const cells = rows.map((r) => [r.scenario, r.metric, String(r.value), r.unit, r.target ?? '', r.ok === undefined ? '' : r.ok ? 'yes' : 'NO', r.anchor ?? '']);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: readonly string[]): string => c.map((x, i) => x.padEnd(widths[i] as number)).join(' | ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map(line)].join('\n');
}

function repoRoot(): string {
  // dist/bench/main.js -> repository root
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string', multiple: true, default: [] }, help: { type: 'boolean', short: 'h', default: false }, ...Object.fromEntries(PARAM_FLAGS.map((f) => [f, { type: 'string' as const }])) }, allowPositionals: true });
  if (values.help) {
    process.stdout.write(`usage: npm run bench -- [suite ...] [--quick] [--only <scenario prefix, e.g. (c)> ...]\n  jobs sizes: --agents <gang sizes, e.g. 64,128,256,512> --stored-jobs <n> --submits <n> --clients <n> --light-n <n> --agent-state <dir: where the gang's agents keep their task dirs; default under $TMPDIR>\n  slurm: --slurm-nodes <srun sizes, e.g. 64,128,256: the largest is the number of slurmd started>\n  telemetry: --encoding binary|json (the latency windows' wire encoding; default binary)\n  reports: --report-agents <sizes, e.g. 1000,5000,10000: simulated agents reporting at 1 Hz, each size on a fresh scheduler; default 10000, 1000 with --quick>\n  jobs (gang) and reports: --mtls off|on|both (plaintext, mTLS with node and admin certificates, or one run of each; default off)\n  jobs: --containment on|off (the agents' ranks in cgroups, their default, or not; default on)\n  ha: --ha-ttl-ms <lease TTL, default 3000> --ha-runs <leader kills, default 10> --ha-agents <agents, default 64> --ha-steady-s <the steady run, default 600> --ha-gang <ranks of the cost gang, default 512> --submits <n> --clients <n>; --only "(h) kill" | "(h) steady" | "(h) nats" | "(h) cost"\nsuites:\n${SUITES.map((s) => `  ${s.name.padEnd(12)} ${s.description}`).join('\n')}\n`);
    return 0;
  }
  const unknown = positionals.filter((p) => !SUITES.some((s) => s.name === p));
  if (unknown.length) {
    process.stderr.write(`bench: unknown suite ${unknown.join(', ')}; suites: ${SUITES.map((s) => s.name).join(', ')}\n`);
    return 2;
  }
  const chosen = positionals.length ? SUITES.filter((s) => positionals.includes(s.name)) : SUITES;
  const outDir = join(repoRoot(), 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const machine = { node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, platform: `${os.platform()} ${os.arch()}` };
  let failed = false;
  for (const suite of chosen) {
    process.stdout.write(`\n== ${suite.name}: ${suite.description}\n`);
    const started = new Date().toISOString();
    const loadBefore = os.loadavg()[0] ?? 0;
    const params = Object.fromEntries(PARAM_FLAGS.map((f) => [f, (values as Record<string, unknown>)[f] as string | undefined]));
    const result = await suite.run({ quick: values.quick, only: values.only, params, log: (l) => process.stderr.write(`${l}\n`) });
    process.stdout.write(`${table(result.rows)}\n`);
    const file = join(outDir, `${suite.name}.json`);
    const load = { oneMinuteBefore: loadBefore, oneMinuteAfter: os.loadavg()[0] ?? 0 };
    process.stdout.write(`(machine: ${machine.cores} × ${machine.cpu}, node ${machine.node}; 1-minute load average ${load.oneMinuteBefore.toFixed(1)} before, ${load.oneMinuteAfter.toFixed(1)} after)\n`);
    writeFileSync(file, `${JSON.stringify({ suite: suite.name, started, quick: values.quick, machine, load, rows: result.rows, details: result.details }, null, 2)}\n`);
    process.stdout.write(`\nJSON: ${file}\n`);
    if (result.rows.some((r) => r.ok === false)) failed = true;
  }
  if (failed) process.stdout.write('\nsome figures miss their targets (ok = NO)\n');
  return 0;
}

process.exitCode = await main();
