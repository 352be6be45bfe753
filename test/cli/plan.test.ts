/** `gantry plan` as a real child process of the built CLI (dist/cli/main.js). */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/cli/main.js');
const examples = join(root, 'examples');

/** Newest modification time of the sources `gantry plan` is built from. */
function newestSource(): number {
  let newest = 0;
  for (const dir of ['cli', 'shared/cli', 'shared/jobspec', 'shared/errors', 'scheduler/placement', 'scheduler/topology']) {
    for (const f of readdirSync(join(root, dir))) if (f.endsWith('.ts')) newest = Math.max(newest, statSync(join(root, dir, f)).mtimeMs);
  }
  return newest;
}

// Build when dist is missing or older than the sources (CI builds first; this keeps a bare `npx tap` honest).
const plan = join(root, 'dist/cli/plan.js');
if (!existsSync(cli) || !existsSync(plan) || statSync(plan).mtimeMs < newestSource()) {
  // tsc emits even when files outside this command have type errors; the check below is what counts.
  spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { cwd: root, stdio: 'ignore' });
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function gantry(args: string[], cwd = examples): Run {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'gantry-plan-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

t.test('the CLI is built', async (t) => {
  t.ok(existsSync(plan), 'dist/cli/plan.js exists');
  t.match(execFileSync(process.execPath, [cli, 'plan', '--help'], { encoding: 'utf8' }), /usage: gantry plan --cluster/);
});

t.test('training on the HGX example: JSON with ranks in rank order, domains and ring crossings', async (t) => {
  const r = gantry(['plan', '--cluster', 'cluster-hgx.yaml', '--job', 'job-training.yaml', '--json']);
  t.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, any>;
  t.equal(j.fits, true);
  t.same(j.job, { name: 'llama-8b-pretrain', kind: 'Training', ranks: 8, gpusPerRank: 4 });
  t.equal(j.ranks.length, 8);
  t.same(j.ranks.map((x: { rank: number }) => x.rank), [0, 1, 2, 3, 4, 5, 6, 7]);
  for (const x of j.ranks) t.equal(x.gpus.length, 4);
  t.equal(j.level, 'spine');
  t.equal(j.domains.spine.length, 1);
  t.equal(j.domains.leaf.length, 2, 'no leaf has 32 free GPUs: two leaves of one spine');
  t.same(j.ringCrossings, { node: j.domains.node.length, leaf: 2, spine: 0 });
  t.same(j.counts, { leaf: 2, node: j.domains.node.length });
  t.notOk(j.reasons);
});

t.test('GB200 on the mixed cluster: slices of 16 per NVLink domain', async (t) => {
  const r = gantry(['plan', '--cluster', 'cluster-mixed.yaml', '--job', 'job-gb200.yaml', '--json']);
  t.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, any>;
  t.same(j.domains.nvlink, ['nvl72-rack-1', 'nvl72-rack-2']);
  t.ok(j.ranks.slice(0, 16).every((x: { node: string }) => x.node.startsWith('gb200-r1-')));
  t.ok(j.ranks.slice(16).every((x: { node: string }) => x.node.startsWith('gb200-r2-')));
  t.same(j.ringCrossings, { node: 32, nvlink: 2, leaf: 0, spine: 0 });
});

t.test('inference replicas: every rank tagged with its unit, per-unit placements', async (t) => {
  const r = gantry(['plan', '--cluster', 'cluster-mixed.yaml', '--job', 'job-inference.yaml', '--json']);
  t.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, any>;
  t.same(j.units, { requested: 4, placed: 4, minimum: 2 });
  t.same(j.ranks.map((x: { unit: number }) => x.unit), [0, 1, 2, 3]);
  t.equal(j.placements.length, 4);
  t.same(new Set(j.placements.slice(0, 2).map((p: { domains: { leaf: string[] } }) => p.domains.leaf[0])).size, 2, 'spread across leaves');
});

t.test('does not fit: exit 1 with counted reasons', async (t) => {
  const r = gantry(['plan', '--cluster', 'cluster-hgx.yaml', '--job', 'job-too-big.yaml', '--json']);
  t.equal(r.code, 1);
  const j = JSON.parse(r.stdout) as Record<string, any>;
  t.equal(j.fits, false);
  t.same(j.ranks, []);
  t.same(j.reasons.find((x: { reason: string }) => x.reason === 'cordoned'), { level: 'node', reason: 'cordoned', count: 1 });
  t.ok(j.reasons.some((x: { level: string; reason: string }) => x.level === 'leaf' && /none holds 8 ranks × 8 GPUs/.test(x.reason)));
  const text = gantry(['plan', '--cluster', 'cluster-hgx.yaml', '--job', 'job-too-big.yaml']);
  t.equal(text.code, 1);
  t.match(text.stdout, /^too-big \(Training\): does not fit: 8 ranks × 8 GPUs, required leaf, packed\n {2}why:\n/);
});

t.test('text output', async (t) => {
  const r = gantry(['plan', '--cluster', 'cluster-hgx.yaml', '--job', 'job-batch.yaml']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^eval-sweep \(Batch\): fits: 1 rank × 1 GPU, least-free first\n {2}12 of 12 shards placed\n {2}shard {3}node/);
});

t.test('bad flags and files exit 2 naming the flag or field', async (t) => {
  const ok = file('ok.yaml', 'levels: [leaf]\nnodes:\n  - {name: a, gpus: 8, domains: {leaf: l1}}\n');
  const job = file('job.yaml', 'kind: Training\nname: x\ncommand: [a]\n');
  const cases: [string, string[], RegExp][] = [
    ['missing --cluster', ['--job', job], /--cluster <file> is required/],
    ['missing --job', ['--cluster', ok], /--job <file> is required/],
    ['unknown flag', ['--cluster', ok, '--job', job, '--bogus'], /Unknown option '--bogus'/],
    ['unreadable file', ['--cluster', join(dir, 'nope.yaml'), '--job', job], /--cluster .*nope\.yaml: cannot read \(ENOENT\)/],
    ['slice size', ['--cluster', ok, '--job', file('j1.yaml', 'kind: Training\nname: x\nranks: 12\ntopology: {slice: {size: 5, level: leaf}}\ncommand: [a]\n')], /j1\.yaml: topology\.slice\.size: must divide ranks \(12\)/],
    ['unknown job field', ['--cluster', ok, '--job', file('j2.yaml', 'kind: Training\nname: x\ncommand: [a]\ntopolgy: {}\n')], /j2\.yaml: topolgy: unknown field/],
    ['level the cluster lacks', ['--cluster', ok, '--job', file('j3.yaml', 'kind: Training\nname: x\ncommand: [a]\ntopology: {required: rack}\n')], /j3\.yaml: topology\.required: unknown level "rack"/],
    ['JSON job with a bad type', ['--cluster', ok, '--job', file('j4.json', '{"kind": "Training", "name": "x", "command": ["a"], "ranks": "8"}')], /j4\.json: ranks: must be a number/],
    ['cluster GPU index', ['--cluster', file('c1.yaml', 'nodes:\n  - {name: a, gpus: 8, usedGpus: [9]}\n'), '--job', job], /c1\.yaml: nodes\[0\]\.usedGpus\[0\]: GPU index 9 is not in 0\.\.7/],
    ['cluster domain level', ['--cluster', file('c2.yaml', 'levels: [leaf]\nnodes:\n  - {name: a, gpus: 8, domains: {rack: r1}}\n'), '--job', job], /c2\.yaml: nodes\[0\]\.domains\.rack: unknown level/],
    ['cluster YAML syntax', ['--cluster', file('c3.yaml', 'nodes: [ {name: a, gpus: 8 '), '--job', job], /c3\.yaml: cluster file is not valid YAML or JSON at line 1/],
  ];
  for (const [label, args, want] of cases) {
    const r = gantry(['plan', ...args], dir);
    t.equal(r.code, 2, `${label}: exit 2`);
    t.match(r.stderr, want, label);
    t.equal(r.stdout, '', `${label}: nothing on stdout`);
  }
});

t.test('node selection: labels and driver/CUDA versions from the cluster file, reasons naming them', async (t) => {
  const r = gantry(['plan', '--cluster', 'cluster-pools.yaml', '--job', 'job-selector.yaml', '--json']);
  t.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, any>;
  t.equal(j.fits, true);
  t.same(j.ranks.map((x: { node: string }) => x.node), ['pool-t-00', 'pool-t-01'], 'training pool, zones a/b, new enough driver, one leaf');
  // Four ranks: only pool-t-03 (4 GPUs free) is left that the selector and versions allow.
  const big = file('selector-4.yaml', 'kind: Training\nname: sel\nranks: 4\ngpusPerRank: 8\nnodeSelector: {pool: training, zone: [a, b]}\naccelerator: {minDriver: "550.54", minCuda: "12.4"}\ncommand: [a]\n');
  const no = gantry(['plan', '--cluster', join(examples, 'cluster-pools.yaml'), '--job', big, '--json'], dir);
  t.equal(no.code, 1, no.stderr);
  const nj = JSON.parse(no.stdout) as { fits: boolean; reasons: Array<{ level: string; reason: string; count: number }> };
  t.same(
    nj.reasons.filter((x) => x.level === 'node' && !x.reason.startsWith('none holds')),
    [
      { level: 'node', reason: 'label pool is inference, not training', count: 2 },
      { level: 'node', reason: 'driver 535.104.05 below 550.54', count: 1 },
      { level: 'node', reason: 'fewer than 8 free healthy GPUs', count: 1 },
      { level: 'node', reason: 'label pool missing (wants training)', count: 1 },
    ],
  );
  const text = gantry(['plan', '--cluster', join(examples, 'cluster-pools.yaml'), '--job', big], dir);
  t.equal(text.code, 1);
  t.match(text.stdout, /\n {4}2 nodes: label pool is inference, not training\n {4}1 node: driver 535\.104\.05 below 550\.54\n/);
  // A CUDA minimum and a set that only the newest node meets.
  const cuda = file('selector-cuda.yaml', 'kind: Training\nname: sel\ngpusPerRank: 8\nnodeSelector: {gantry.io/node: [dev-00, pool-i-00]}\naccelerator: {minCuda: "12.5"}\ncommand: [a]\n');
  const c = gantry(['plan', '--cluster', join(examples, 'cluster-pools.yaml'), '--job', cuda, '--json'], dir);
  t.equal(c.code, 0, c.stderr);
  t.same((JSON.parse(c.stdout) as { ranks: Array<{ node: string }> }).ranks.map((x) => x.node), ['dev-00']);
  const cuda2 = file('selector-cuda2.yaml', 'kind: Training\nname: sel\ngpusPerRank: 8\nnodeSelector: {gantry.io/node: pool-i-00}\naccelerator: {minCuda: "12.5"}\ncommand: [a]\n');
  const c2 = gantry(['plan', '--cluster', join(examples, 'cluster-pools.yaml'), '--job', cuda2], dir);
  t.equal(c2.code, 1);
  t.match(c2.stdout, /\n {4}6 nodes: label gantry\.io\/node is not pool-i-00\n {4}1 node: CUDA 12\.4 below 12\.5\n/);
  // Bad input names the file and field.
  const bad: [string, string[], RegExp][] = [
    ['selector value list item', ['--job', file('selector-bad.yaml', 'kind: Training\nname: x\nnodeSelector: {zone: [a, 7]}\ncommand: [a]\n')], /selector-bad\.yaml: nodeSelector\.zone\[1\]: must be a label value/],
    ['version', ['--job', file('selector-ver.yaml', 'kind: Training\nname: x\naccelerator: {minDriver: "550.x"}\ncommand: [a]\n')], /selector-ver\.yaml: accelerator\.minDriver: must be a version/],
    [
      'cluster label key',
      ['--job', file('selector-ok.yaml', 'kind: Training\nname: x\ncommand: [a]\n'), '--cluster', file('selector-c.yaml', 'nodes:\n  - {name: a, gpus: 8, labels: {"-pool": x}}\n')],
      /selector-c\.yaml: nodes\[0\]\.labels\.-pool: must be a label key/,
    ],
  ];
  for (const [label, args, want] of bad) {
    const withCluster = args.includes('--cluster') ? args : ['--cluster', join(examples, 'cluster-pools.yaml'), ...args];
    const b = gantry(['plan', ...withCluster], dir);
    t.equal(b.code, 2, `${label}: exit 2`);
    t.match(b.stderr, want, label);
  }
});
