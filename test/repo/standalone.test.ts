/**
 * The repository stands alone: its tests, scripts and benchmarks read nothing outside it (no
 * capture set beside the clone), and the real captures it carries in fixtures/ are
 * byte for byte the ones fixtures/SOURCES.md credits (fixtures/SHA256SUMS, made from the sources).
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { packageRoot } from '../../shared/procs/index.js';

const ROOT = packageRoot();
const FIXTURES = join(ROOT, 'fixtures');
/** Folders whose code may name paths; test/fixtures holds data only. */
const SCANNED = ['test', 'scripts', 'bench'];
const SKIP_DIRS = new Set(['node_modules', 'fixtures', 'results']);
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs|sh|py)$/;

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) walk(p, out);
    } else if (e.isFile() && (SOURCE.test(e.name) || isScript(p))) {
      out.push(p);
    }
  }
  return out;
}

function isScript(path: string): boolean {
  return readFileSync(path).subarray(0, 2).toString() === '#!';
}

/**
 * Why `text` (the source of `file`) reaches outside the repository, one line each; empty when it
 * does not. Three shapes: the shared capture set by name, a relative literal that climbs above the
 * repository from the file's folder, and `..` joined onto the repository's root.
 */
function outsideReferences(file: string, text: string, root: string): string[] {
  const found: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const at = `${relative(root, file)}:${i + 1}`;
    if (/shared['"`]?\s*[,/]\s*['"`]?(fixtures|traces)\b/.test(line)) found.push(`${at}: names the shared capture set: ${line.trim()}`);
    for (const m of line.matchAll(/(['"`])((?:\.\.\/)+[^'"`\s]*)\1/g)) {
      const target = resolve(dirname(file), m[2] ?? '');
      if (target !== root && !target.startsWith(root + sep)) found.push(`${at}: ${m[2]} resolves outside the repository`);
    }
    if (/\b(ROOT|root|repoRoot|packageRoot\(\))\s*,\s*['"`]\.\.(\/|['"`])/.test(line)) found.push(`${at}: climbs above the repository root: ${line.trim()}`);
  });
  return found;
}

t.test('the guard recognises the references it forbids', async (t) => {
  // The example lines are data (test/fixtures/standalone/guard-cases.json), so no source quotes
  // them; there each '..' is written {up}, so the data names no outside path either.
  const raw = readFileSync(join(ROOT, 'test', 'fixtures', 'standalone', 'guard-cases.json'), 'utf8');
  const cases = JSON.parse(raw.replaceAll('{up}', '..')) as { file: string; bad: string[]; good: string[] };
  const file = join(ROOT, cases.file);
  t.ok(cases.bad.length > 0 && cases.good.length > 0, 'cases to check');
  for (const line of cases.bad) t.not(outsideReferences(file, line, ROOT).length, 0, line);
  for (const line of cases.good) t.same(outsideReferences(file, line, ROOT), [], line);
});

t.test('no file under test/, scripts/ or bench/ reads outside the repository', async (t) => {
  const files = SCANNED.flatMap((d) => walk(join(ROOT, d)));
  t.ok(files.length > 100, `scanned ${files.length} files`);
  const found = files.flatMap((f) => outsideReferences(f, readFileSync(f, 'utf8'), ROOT));
  t.same(found, [], 'read the capture from fixtures/ (copy it there byte for byte and credit it in fixtures/SOURCES.md)');
});

/** SHA256SUMS lines: `<sha256>  <path under fixtures/>`, as `sha256sum` writes them. */
function checksums(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(join(FIXTURES, 'SHA256SUMS'), 'utf8').split('\n')) {
    if (line === '') continue;
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) throw new Error(`SHA256SUMS: bad line ${JSON.stringify(line)}`);
    out.set(m[2] ?? '', m[1] ?? '');
  }
  return out;
}

t.test('every copied capture is byte for byte its source', async (t) => {
  const sums = checksums();
  t.ok(sums.size > 800, `${sums.size} files listed`);
  const wrong: string[] = [];
  for (const [path, sum] of sums) {
    const got = createHash('sha256').update(readFileSync(join(FIXTURES, path))).digest('hex');
    if (got !== sum) wrong.push(path);
  }
  t.same(wrong, [], 'files that differ from the copied source');
});

t.test('every file in a copied folder has a checksum, and every folder a credit', async (t) => {
  const sums = checksums();
  // nvidia/ also holds the project's own captures and derived texts; its two copies are listed.
  const copiedDirs = [...new Set([...sums.keys()].map((p) => p.split('/')[0] ?? ''))].filter((d) => d !== 'nvidia');
  const sources = readFileSync(join(FIXTURES, 'SOURCES.md'), 'utf8');
  for (const dir of copiedDirs) {
    const unlisted = walkAll(join(FIXTURES, dir)).map((p) => relative(FIXTURES, p).split(sep).join('/')).filter((p) => !sums.has(p));
    t.same(unlisted, [], `${dir}/: every file listed in SHA256SUMS`);
    t.ok(sources.includes(`\`${dir}/`), `${dir}/ is credited in SOURCES.md`);
  }
});

function walkAll(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? walkAll(p) : [p];
  });
}
