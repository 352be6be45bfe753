/**
 * The stand-in nvidia-smi's answer cache (scripts/sim/nvidia-smi, a bash front before
 * nvidia-smi.mjs): a repeated plain call is served from the cache, byte for byte what the Node
 * script computes; a capture rewritten in place, another node, or another mode is not.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { H100_TOPO, H100_XML, SIM_NVIDIA_SMI } from '../../harness/cluster.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-sim-cache-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const cacheDir = path.join(dir, 'cache');
const xml = path.join(dir, 'qx.xml');
copyFileSync(H100_XML, xml);

function smi(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      SIM_NVIDIA_SMI,
      args,
      {
        env: { PATH: process.env.PATH, GANTRY_SIM_NVIDIA_XML: xml, GANTRY_SIM_NVIDIA_TOPO: H100_TOPO, GANTRY_SIM_NODE: 'gpu-01', GANTRY_SIM_CACHE_DIR: cacheDir, ...env },
        maxBuffer: 8 << 20,
        timeout: 30_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}
const entries = (): string[] => {
  try {
    return readdirSync(cacheDir).sort();
  } catch {
    return [];
  }
};

const CALLS: string[][] = [['-q', '-x'], ['-L'], ['topo', '-m'], ['nvlink', '-s'], ['--query-gpu=index,uuid,temperature.gpu,power.draw', '--format=csv,noheader']];

t.test('a repeated call is answered from the cache, exactly as computed', async (t) => {
  for (const args of CALLS) {
    const computed = await smi(args, { GANTRY_SIM_CACHE: 'off' });
    t.equal(computed.code, 0, `${args.join(' ')}: computed`);
    const before = entries().length;
    const first = await smi(args);
    t.equal(entries().length, before + 1, `${args.join(' ')}: the first call keeps its answer`);
    const kept = path.join(cacheDir, entries().find((e) => !e.endsWith('.tmp') && readFileSync(path.join(cacheDir, e), 'utf8') === first.stdout)!);
    // Mark the kept answer: a second call that prints the mark was served from the cache.
    writeFileSync(kept, `${first.stdout}<!-- from the cache -->`);
    const second = await smi(args);
    t.equal(second.stdout, `${computed.stdout}<!-- from the cache -->`, `${args.join(' ')}: served from the cache`);
    writeFileSync(kept, first.stdout);
    t.equal((await smi(args)).stdout, computed.stdout, `${args.join(' ')}: same bytes as the Node script`);
    t.equal(first.stdout, computed.stdout);
  }
});

t.test('another node, another capture or a capture rewritten in place is computed afresh', async (t) => {
  const base = await smi(['-L']);
  const other = await smi(['-L'], { GANTRY_SIM_NODE: 'gpu-02' });
  t.not(other.stdout, base.stdout, 'another node has other GPU UUIDs');
  const gb200 = path.join(path.dirname(H100_XML), 'qx-gb200.xml');
  const swapped = path.join(dir, 'swapped.xml');
  copyFileSync(H100_XML, swapped);
  const h100 = await smi(['-L'], { GANTRY_SIM_NVIDIA_XML: swapped });
  copyFileSync(gb200, swapped);
  const after = await smi(['-L'], { GANTRY_SIM_NVIDIA_XML: swapped });
  t.match(h100.stdout, /H100/);
  t.notMatch(after.stdout, /H100/, 'the rewritten capture is read, not the kept answer');
  t.equal(after.stdout, (await smi(['-L'], { GANTRY_SIM_NVIDIA_XML: swapped, GANTRY_SIM_CACHE: 'off' })).stdout);
});

t.test('modes, delays and failures are never kept', async (t) => {
  await smi(['-q', '-x']);
  const before = entries();
  const lost = await smi(['-q', '-x'], { GANTRY_SIM_MODE: 'exit15' });
  t.equal(lost.code, 15, 'exit15 mode still answers with exit 15 after an ok answer was kept');
  t.match(lost.stdout, /GPU is lost/);
  const modeFile = path.join(dir, 'mode');
  writeFileSync(modeFile, ' stderr\n');
  const nvml = await smi(['-q', '-x'], { GANTRY_SIM_MODE_FILE: modeFile });
  t.equal(nvml.stdout, '', 'the mode file switches a cached call too');
  t.match(nvml.stderr, /Failed to initialize NVML/);
  writeFileSync(modeFile, 'ok\n');
  t.equal((await smi(['-q', '-x'], { GANTRY_SIM_MODE_FILE: modeFile })).code, 0, 'mode file "ok": the plain answer');
  const missing = await smi(['-q', '-x'], { GANTRY_SIM_NVIDIA_XML: path.join(dir, 'absent.xml') });
  t.equal(missing.code, 9, 'an unreadable capture is an error every time');
  const delayed = await smi(['-L'], { GANTRY_SIM_NODE: 'gpu-09', GANTRY_SIM_DELAY_MS: '10' });
  t.equal(delayed.code, 0, 'a delayed answer is given');
  t.match(delayed.stdout, /^GPU 0: /);
  const refused = await smi(['--query-gpu=index,bogus.field', '--format=csv']);
  t.equal(refused.code, 2);
  t.match(refused.stdout, /Field "bogus.field" is not a valid field to query/);
  t.same(entries(), before, 'none of these left an answer');
});
