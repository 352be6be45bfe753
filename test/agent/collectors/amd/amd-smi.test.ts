/**
 * The AMD collector with amd-smi beside rocm-smi (issue 24), as real child processes: stand-in
 * scripts print real captures (rocm-smi: telegraf's rx6700xt_rocm612.json, card0 at 0000:07:00.0;
 * amd-smi: the RX 6700 XT `static --json` at the same address). Both present: amd-smi's static facts
 * win and the inventory says `amd-smi`; rocm-smi keeps the readings; amd-smi failing or absent:
 * rocm-smi's facts, `rocm-smi`, and a warning.
 */
import t from 'tap';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAmdCollector } from '../../../../agent/collectors/index.js';
import { parseRocmSmiJson } from '../../../../agent/core/index.js';
import { fixture, read } from '../fixtures.js';

const ROCM = fixture('telegraf', 'rx6700xt_rocm612.json');
const AMD = fixture('amd-smi', 'rx6700xt_static_rocm720.json');

function standIn(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

t.test('amd-smi answers for static facts, rocm-smi for readings; without amd-smi, rocm-smi for both', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-amd-smi-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rocm = standIn(dir, 'rocm-smi', `cat '${ROCM}'`);
  const amd = standIn(dir, 'amd-smi', `[ "$1 $2" = "static --json" ] || exit 2\ncat '${AMD}'`);
  const file = JSON.parse(read(AMD)) as Record<string, Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const rocmOnly = parseRocmSmiJson(read(ROCM));

  const both = await createAmdCollector({ binaryPath: rocm, amdSmiPath: amd, kfdRoot: null }).probe();
  t.equal(both.firmware.tool, 'amd-smi');
  t.equal(both.gpus[0]!.name, file['asic']!['market_name']);
  t.equal(both.gpus[0]!.memoryMiB, file['vram']!['size']['value']);
  t.equal(both.gpus[0]!.vbiosVersion, file['ifwi']!['part_number']);
  t.equal(both.gpus[0]!.uuid, rocmOnly.gpus[0]!.uuid, "rocm-smi's identity kept");
  t.same(both.samples, rocmOnly.samples, "rocm-smi's readings");
  t.same(both.warnings, []);

  const without = await createAmdCollector({ binaryPath: rocm, kfdRoot: null }).probe();
  t.equal(without.firmware.tool, 'rocm-smi');
  t.same(without.gpus, rocmOnly.gpus);

  const broken = standIn(dir, 'amd-smi-broken', 'echo "amdsmi error" >&2; exit 1');
  const failed = await createAmdCollector({ binaryPath: rocm, amdSmiPath: broken, kfdRoot: null }).probe();
  t.equal(failed.firmware.tool, 'rocm-smi', 'amd-smi failing: rocm-smi answers');
  t.match(failed.warnings.join('\n'), /amd-smi static: .*static facts from rocm-smi/);
});
