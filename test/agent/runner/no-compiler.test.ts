/**
 * Without a C compiler the build leaves the native supervisor out (scripts/build-native.mjs): the
 * runner tests that need it are skipped, saying why, and do not fail; the same tests under the Node
 * supervisor still run. Seen here by running a runner test file as a real child process, its native
 * supervisor pointed at a file that does not exist (GANTRY_TEST_NATIVE_SUPERVISOR, read by
 * helpers.ts), once as the native tests run it and once as node-supervisor.test.ts does.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'runas.test.ts');
const MISSING = '/nonexistent/gantry-supervisor';

/** Runs runas.test.ts as tap runs a test file (this process's loader flags), without the native supervisor. */
function runWithoutNative(kind: 'native' | 'node'): { status: number | null; out: string } {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', GANTRY_TEST_NATIVE_SUPERVISOR: MISSING, GANTRY_TEST_SUPERVISOR: kind };
  for (const k of ['HOME', 'TMPDIR']) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  const r = spawnSync(process.execPath, [...process.execArgv, FILE], { env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

t.test('the native supervisor missing: its runner tests are skipped with the reason, none fails', async (t) => {
  const { status, out } = runWithoutNative('native');
  t.equal(status, 0, `the file passes (${out.slice(-400)})`);
  t.notMatch(out, /^\s*not ok /m, 'no test failed');
  t.notMatch(out, /is missing: build first/, 'none failed in requireSupervisor');
  const skips = out.split('\n').filter((l) => /^ok \d+ - .*# SKIP the native supervisor \/nonexistent\/gantry-supervisor is not built \(npm run build found no C compiler\)/.test(l));
  // runas.test.ts: three tests run ranks (skipped, or skipped for not being root), one parses passwd lines.
  t.ok(skips.length >= 1, `the tests that need it are skipped with the reason (${skips.length})`);
  t.match(out, /^ok \d+ - passwd lines parse; malformed ones are refused(?! # SKIP)/m, 'a test that needs no supervisor still runs');
});

t.test('the native supervisor missing: the same tests under the Node supervisor still run', async (t) => {
  const { status, out } = runWithoutNative('node');
  t.equal(status, 0, `the file passes (${out.slice(-400)})`);
  t.notMatch(out, /# SKIP the native supervisor/, 'nothing skipped for the native supervisor');
  t.match(out, /^ok \d+ - runAs outside the allowed list, or unknown, is refused naming runAs(?! # SKIP)/m, 'a runner test ran');
});
