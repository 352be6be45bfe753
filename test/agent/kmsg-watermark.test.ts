/** The kmsg watermark file (agent/kmsg-watermark.ts) and health.diagnostic.command as argv (agent/diagnostic.ts). */
import t from 'tap';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadWatermark, readBootId, storeWatermark, WATERMARK_FILE } from '../../agent/kmsg-watermark.js';
import { diagnosticArgv } from '../../agent/diagnostic.js';
import { tempDir } from '../harness/cluster.js';

t.test('stored atomically, loaded for the same boot only', async (t) => {
  const dir = path.join(tempDir(t, 'gantry-wm-'), 'state');
  t.equal(loadWatermark(dir, 'boot-a'), undefined, 'none stored: none');
  await storeWatermark(dir, { bootId: 'boot-a', seq: 4711, atMs: 5 });
  t.same(readdirSync(dir), [WATERMARK_FILE], 'one file, no temp file left');
  t.same(loadWatermark(dir, 'boot-a'), { bootId: 'boot-a', seq: 4711, atMs: 5 }, 'the same boot: applies');
  t.equal(loadWatermark(dir, 'boot-b'), undefined, 'another boot: kmsg numbers start again, it does not apply');
  await storeWatermark(dir, { bootId: 'boot-a', seq: 4800, atMs: 6 });
  t.equal(loadWatermark(dir, 'boot-a')?.seq, 4800, 'replaced');
});

t.test('a bad file is ignored, saying why', async (t) => {
  const dir = tempDir(t, 'gantry-wm-bad-');
  for (const [text, why] of [
    ['{"bootId":"b","seq":', /JSON/],
    ['{"bootId":"b","seq":-1}', /not a watermark/],
    ['{"seq":3}', /not a watermark/],
    ['[]', /not a watermark/],
  ] as const) {
    writeFileSync(path.join(dir, WATERMARK_FILE), text);
    const said: string[] = [];
    t.equal(loadWatermark(dir, 'b', (w) => said.push(w)), undefined, `${text}: ignored`);
    t.match(said[0], why, `${text}: says why`);
  }
});

t.test('this boot has an id', async (t) => {
  if (existsSync('/proc/sys/kernel/random/boot_id')) t.match(readBootId(), /^[0-9a-f-]{36}$/);
  t.equal(readBootId('/nonexistent/boot_id'), '', 'unreadable: empty');
});

t.test('health.diagnostic.command as argv', async (t) => {
  t.same(diagnosticArgv('/usr/local/bin/diag --quick  -v', false), ['/usr/local/bin/diag', '--quick', '-v'], 'a string is split on spaces');
  t.same(diagnosticArgv(['/opt/diag', 'a b'], false), ['/opt/diag', 'a b'], 'a list is taken as it is');
  t.same(diagnosticArgv('', true), ['dcgmi', 'diag', '-r', '1'], "'' with dcgmi on PATH: dcgmi diag -r 1");
  t.same(diagnosticArgv([], true), ['dcgmi', 'diag', '-r', '1'], '[] likewise');
  t.equal(diagnosticArgv('  ', false), null, 'none configured, no dcgmi: none');
});
