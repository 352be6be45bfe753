/**
 * `gantry simulate` through the built CLI (dist/cli/main.js): the JSON is byte-identical run to
 * run, --out writes report.json (and the plots and report.html), the table has a row per policy × load × locality, and bad
 * flags or input exit 2 naming the flag or file:line:column.
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, gantryCli, tempDir } from '../harness/cluster.js';
import type { SimReport } from '../../scheduler/simulate/index.js';

const SPEC = path.join(FIXTURES, 'traces', 'tiresias', 'cluster_spec.csv');
const JOBS60 = path.join(FIXTURES, 'traces', 'tiresias', '60_job.csv');

t.test('the JSON is byte-identical for the same inputs; --out writes the same report.json', async (t) => {
  const dir = tempDir(t, 'gantry-sim-');
  const args = ['simulate', '--cluster', SPEC, '--trace', JOBS60, '--load', '0.9,1.1', '--locality', '0,0.3', '--json'];
  const a = await gantryCli([...args, '--out', dir]);
  const b = await gantryCli(args);
  t.equal(a.code, 0, a.stderr);
  t.equal(b.code, 0, b.stderr);
  t.ok(a.stdout.length > 1000);
  t.equal(a.stdout, b.stdout, 'byte for byte');
  t.equal(readFileSync(path.join(dir, 'report.json'), 'utf8'), a.stdout, 'report.json is the JSON printed');
  // The plots and the HTML report beside it (their structure is tested in test/scheduler/simulate/plots.test.ts).
  for (const f of ['summary.svg', 'occupancy.svg', 'queue-delay-cdf.svg', 'topology-heat.svg']) t.match(readFileSync(path.join(dir, f), 'utf8'), /^<svg[\s\S]*<\/svg>\s*$/, `--out writes ${f}`);
  t.match(readFileSync(path.join(dir, 'report.html'), 'utf8'), /<html[\s\S]*<svg[\s\S]*<\/html>/, '--out writes report.html with the plots inline');
  const r = JSON.parse(a.stdout) as SimReport;
  t.same(r.cluster, { label: 'cluster_spec.csv: 1 switch × 16 nodes × 4 GPUs', nodes: 16, gpus: 64, levels: ['leaf'] });
  t.same(r.runs.map((x) => [x.policy, x.load, x.localityPenalty]), [
    ['gantry', 0.9, 0], ['gantry', 0.9, 0.3], ['gantry', 1.1, 0], ['gantry', 1.1, 0.3],
    ['topology-blind', 0.9, 0], ['topology-blind', 0.9, 0.3], ['topology-blind', 1.1, 0], ['topology-blind', 1.1, 0.3],
    ['first-fit', 0.9, 0], ['first-fit', 0.9, 0.3], ['first-fit', 1.1, 0], ['first-fit', 1.1, 0.3],
  ]);
  t.equal(r.trace.jobs, 60);
  t.notOk('timing' in r, 'no wall-clock figures unless --timing');
  for (const run of r.runs) {
    t.equal(run.completed, 60);
    t.ok(run.series.length <= 500);
  }
});

t.test('the table, and --timing', async (t) => {
  const r = await gantryCli(['simulate', '--nodes', '4', '--gpus-per-node', '8', '--nodes-per-leaf', '2', '--trace', JOBS60, '--policy', 'gantry,first-fit', '--load', 'recorded', '--locality', '0.1', '--timing']);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  t.match(lines[0], /^cluster: 4 nodes × 8 GPUs; 2 leaves × 2 nodes/);
  t.match(lines[2], /^policy\s+load\s+locality\s+jobs\s+JCT mean\s+JCT p99\s+wait mean\s+wait p99\s+makespan\s+occupancy\s+minimal\s+stranded$/);
  t.match(lines[3], /^gantry\s+0\.\d+ \(rec\.\)\s+10\.0%\s+60\s/);
  t.match(lines[4], /^first-fit\s/);
  t.match(r.stdout, /decision time per job \(real\): gantry@rec\/0\.1: mean [\d.]+ µs/);
});

t.test('bad flags and input exit 2, naming the flag or the place', async (t) => {
  const dir = tempDir(t, 'gantry-sim-bad-');
  const bad = path.join(dir, 'bad.csv');
  writeFileSync(bad, 'submit_s,gpus,duration_s\n0,2,10\n5,two,10\n');
  const cases: Array<[string, string[], RegExp]> = [
    ['no cluster', ['--trace', JOBS60], /--cluster: required/],
    ['no trace', ['--cluster', SPEC], /--trace: required/],
    ['both cluster forms', ['--cluster', SPEC, '--nodes', '4', '--trace', JOBS60], /--cluster and --nodes/],
    ['shape without GPUs', ['--nodes', '4', '--trace', JOBS60], /--gpus-per-node: required/],
    ['bad node count', ['--nodes', 'x', '--gpus-per-node', '8', '--trace', JOBS60], /--nodes: must be a whole number/],
    ['bad load', ['--cluster', SPEC, '--trace', JOBS60, '--load', '0.9,fast'], /--load: "fast" is not an offered load/],
    ['unknown policy', ['--cluster', SPEC, '--trace', JOBS60, '--policy', 'magic'], /--policy: unknown policy "magic"; known: gantry, gantry-no-wait, topology-blind, first-fit/],
    ['bad locality', ['--cluster', SPEC, '--trace', JOBS60, '--locality=-1'], /--locality: "-1" is not a slowdown/],
    ['bad NVL72', ['--cluster', 'nvl72:many', '--trace', JOBS60], /nvl72:<racks>/],
    ['missing file', ['--cluster', path.join(dir, 'none.yaml'), '--trace', JOBS60], /--cluster .*none\.yaml: cannot read \(ENOENT\)/],
    ['bad row', ['--cluster', SPEC, '--trace', bad], /bad\.csv:3:gpus: must be a whole number of GPUs/],
    ['unknown flag', ['--cluster', SPEC, '--trace', JOBS60, '--colour'], /--colour/],
  ];
  for (const [what, args, message] of cases) {
    const r = await gantryCli(['simulate', ...args]);
    t.equal(r.code, 2, `${what}: exit 2`);
    t.match(r.stderr, message, what);
  }
});
