// Generates TypeScript types from proto/gantry/v1/*.proto with proto-loader-gen-types,
// using the same loader options (proto/loader-options.json) the runtime loader uses.
// The output in proto/generated is committed and never edited by hand.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const opts = JSON.parse(readFileSync(path.join(root, 'proto/loader-options.json'), 'utf8'));
// --out DIR writes elsewhere (the test that checks the committed types are current uses it).
const outArg = process.argv.indexOf('--out');
const out = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.join(root, 'proto/generated');
rmSync(out, { recursive: true, force: true });
const protos = readdirSync(path.join(root, 'proto/gantry/v1'))
  .filter((f) => f.endsWith('.proto'))
  .map((f) => `gantry/v1/${f}`);
const args = [
  '--grpcLib=@grpc/grpc-js',
  `--outDir=${out}`,
  ...opts.includeDirs.map((d) => `--includeDirs=${path.join(root, d)}`),
  `--longs=${opts.longs}`,
  `--enums=${opts.enums}`,
  ...(opts.defaults ? ['--defaults'] : []),
  ...(opts.oneofs ? ['--oneofs'] : []),
  ...(opts.keepCase ? ['--keepCase'] : []),
  ...protos,
];
execFileSync(path.join(root, 'node_modules/.bin/proto-loader-gen-types'), args, { stdio: 'inherit' });
// Keep the output independent of where the repository is checked out.
for (const f of walk(out)) writeFileSync(f, readFileSync(f, 'utf8').replaceAll(`${root}/`, ''));
function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
writeFileSync(path.join(out, 'package.json'), '{ "type": "commonjs" }\n'); // type-only files with extensionless imports
console.log(`generated types for ${protos.join(', ')} into proto/generated`);
