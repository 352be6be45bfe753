/** The committed generated types are exactly what proto-loader-gen-types makes from the .proto files now. */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT, tempDir } from '../harness/cluster.js';

function files(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p, base) : [path.relative(base, p)];
  });
}

t.test('proto/generated is up to date', async (t) => {
  const out = tempDir(t, 'gantry-gen-');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'gen-proto.mjs'), '--out', out], { stdio: 'pipe' });
  const committed = path.join(ROOT, 'proto', 'generated');
  const want = files(out).sort();
  t.same(files(committed).sort(), want, 'same files');
  for (const f of want) {
    t.equal(readFileSync(path.join(committed, f), 'utf8'), readFileSync(path.join(out, f), 'utf8'), `${f} matches (run npm run gen:proto)`);
  }
});
