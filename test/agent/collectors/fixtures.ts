/** Paths of the shared real captures and the repo-local copies, for collector tests. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseNvidiaSmiXml, type GpuProbe } from '../../../agent/core/index.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const sharedFixtures = resolve(repoRoot, '../shared/fixtures');
export const localFixtures = join(repoRoot, 'fixtures');
export const derivedFixtures = join(repoRoot, 'test/fixtures/derived');
export const standInNvidiaSmi = join(repoRoot, 'scripts/sim/nvidia-smi');

export function shared(...parts: string[]): string {
  return join(sharedFixtures, ...parts);
}

export function read(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Every `nvidia-smi -q -x` capture in the shared set. */
export function allNvidiaXmlCaptures(): string[] {
  const out: string[] = [];
  for (const dir of ['telegraf', 'k8s-test-infra']) {
    for (const f of readdirSync(shared(dir)).sort()) {
      if (!f.endsWith('.xml')) continue;
      const path = shared(dir, f);
      if (read(path).includes('<nvidia_smi_log')) out.push(path);
    }
  }
  return out;
}

/** A GPU probe built from a `-q -x` capture alone (no topo -m, no nvlink -s), for health-rule tests. */
export function probeOf(path: string): GpuProbe {
  const p = parseNvidiaSmiXml(read(path));
  return {
    vendor: 'nvidia',
    gpus: p.gpus,
    firmware: p.firmware,
    fabric: p.fabric,
    linkMatrix: { devices: [], rows: [] },
    linkGroups: [],
    nics: {},
    samples: p.samples,
    attachedGpus: p.attachedGpus,
    nvlink: null,
    warnings: [],
    durationMs: 0,
  };
}
