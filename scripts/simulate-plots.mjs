#!/usr/bin/env node
// Render a `gantry simulate --json` report (a SimReport) to the plots and the HTML report, as
// `gantry simulate --out DIR` does: node scripts/simulate-plots.mjs REPORT.json OUT_DIR
// Needs the build (npm run build): it loads dist/scheduler/simulate/plots.js.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [input, out] = process.argv.slice(2);
if (!input || !out) {
  process.stderr.write('usage: node scripts/simulate-plots.mjs REPORT.json OUT_DIR\n');
  process.exit(2);
}
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { renderReport } = await import(path.join(root, 'dist', 'scheduler', 'simulate', 'plots.js'));
const report = JSON.parse(readFileSync(input, 'utf8'));
const { files } = await renderReport(report);
mkdirSync(out, { recursive: true });
for (const f of files) {
  writeFileSync(path.join(out, f.name), f.content);
  process.stdout.write(`${path.join(out, f.name)} (${f.content.length} bytes)\n`);
}
