// Reads tap's TAP output and prints "N passed, N failed[, N skipped]" as the last line.
// It counts the test points one level inside each test file (each t.test, and assertions made at a
// file's top level); a file that failed without a failing point (a crash, a timeout) counts as one
// failure. Exit code: non-zero when anything failed or tap itself exited non-zero.
import { readFileSync } from 'node:fs';

const [file, tapStatus = '0'] = process.argv.slice(2);
const lines = readFileSync(file, 'utf8').split('\n');
let passed = 0;
let failed = 0;
let skipped = 0;
let fileFailures = 0;
for (const line of lines) {
  const m = /^( *)(not ok|ok) \d+/.exec(line);
  if (!m) continue;
  const depth = m[1].length / 4;
  const ok = m[2] === 'ok';
  const directive = /#\s*(SKIP|TODO)\b/i.exec(line);
  if (depth === 1) {
    if (directive) skipped++;
    else if (ok) passed++;
    else {
      failed++;
      fileFailures++;
    }
  } else if (depth === 0) {
    if (!ok && fileFailures === 0) failed++;
    fileFailures = 0;
  }
}
if (passed === 0 && failed === 0) failed = 1; // no test ran: that is a failure
if (Number(tapStatus) !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
