/**
 * The layers of .dependency-cruiser.cjs, checked by dependency-cruiser as a child process:
 * - on the sources (agent/, scheduler/, shared/, cli/): no violation at all (there are no known
 *   exceptions);
 * - on a small tree in a temp dir with one violation of each rule injected (directly and through
 *   another module), the same config reports each, and nothing for the modules that keep to it.
 * So a new upward arrow or an I/O import in a pure core fails the test run.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const depcruise = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const LAYERS = ['agent', 'scheduler', 'shared', 'cli'];

interface Violation {
  rule: { name: string; severity: string };
  from: string;
  to: string;
}

/** The checker's JSON verdict (the JSON reporter exits 0 whatever it finds; a bad run exits non-zero). */
function cruise(cwd: string, dirs: string[]): { code: number; violations: Violation[]; stderr: string } {
  const args = [depcruise, '--config', join(cwd, '.dependency-cruiser.cjs'), '--output-type', 'json', ...dirs];
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  let violations: Violation[] = [];
  try {
    violations = (JSON.parse(r.stdout) as { summary: { violations: Violation[] } }).summary.violations;
  } catch {
    // no JSON: the error is in stderr
  }
  return { code: r.status ?? -1, violations, stderr: r.stderr };
}

t.test('the sources keep to the layers', async (t) => {
  const r = cruise(root, LAYERS);
  const text = r.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
  t.same(text, [], 'no violation');
  t.equal(r.code, 0, r.stderr);
});

t.test('each rule catches an injected violation, directly and through another module', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-layers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(join(root, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022' } }));
  const files: Record<string, string> = {
    'scheduler/topology/tree.ts': 'export const tree = 1;\n',
    'scheduler/placement/engine.ts': "import { tree } from '../topology/tree.js';\nexport const place = tree;\n",
    'scheduler/placement/reads-disk.ts': "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n",
    'scheduler/placement/uses-manager.ts': "import type { Manager } from '../jobs/manager.js';\nexport type M = Manager;\n",
    'scheduler/jobs/manager.ts': 'export interface Manager { id: string }\n',
    'scheduler/jobs/spawner.ts': "import { spawn } from 'node:child_process';\nexport const s = spawn;\n",
    'scheduler/queue/policy.ts': "import { s } from '../jobs/spawner.js';\nexport const p = s;\n",
    'agent/health/rules.ts': "import type { Clock } from '../runner/clock.js';\nexport type R = Clock;\n",
    'agent/runner/clock.ts': "import { performance } from 'node:perf_hooks';\nexport type Clock = typeof performance;\n",
    'agent/main.ts': "import { place } from '../scheduler/placement/engine.js';\nexport const m = place;\n",
    'scheduler/main.ts': "import { m } from '../agent/main.js';\nexport const n = m;\n",
    'shared/plan.ts': "import { place } from '../scheduler/placement/engine.js';\nexport const q = place;\n",
    'shared/ok.ts': 'export const ok = 1;\n',
    'shared/proto/index.ts': 'export interface JobPb { id: string }\n',
    'shared/cli/job.ts': "import type { JobPb } from '../proto/index.js';\nexport type J = JobPb;\n",
    'shared/wire/convert.ts': "import type { JobPb } from '../proto/index.js';\nexport type W = JobPb;\n",
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const r = cruise(dir, ['agent', 'scheduler', 'shared']);
  t.equal(r.code, 0, `the checker ran (its JSON reporter exits 0 with violations): ${r.stderr}`);
  const got = new Set(r.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`));
  const want = [
    'pure-core-no-io: scheduler/placement/reads-disk.ts -> fs',
    'pure-core-no-io: scheduler/queue/policy.ts -> child_process',
    'pure-core-no-io: agent/health/rules.ts -> perf_hooks',
    'agent-not-to-scheduler: agent/main.ts -> scheduler/placement/engine.ts',
    'scheduler-not-to-agent: scheduler/main.ts -> agent/main.ts',
    'shared-not-to-daemons: shared/plan.ts -> scheduler/placement/engine.ts',
    'pure-core-no-shell: scheduler/placement/uses-manager.ts -> scheduler/jobs/manager.ts',
    'pure-core-no-shell: agent/health/rules.ts -> agent/runner/clock.ts',
    'proto-at-the-edges: shared/cli/job.ts -> shared/proto/index.ts',
  ];
  for (const w of want) t.ok(got.has(w), w);
  t.notOk([...got].some((v) => v.includes('scheduler/placement/engine.ts ->') || v.includes('shared/ok.ts') || v.includes('shared/wire/convert.ts')), 'modules that keep to the layers are not reported');
});
