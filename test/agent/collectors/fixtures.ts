/** Paths of the real captures kept in the repository's fixtures/ (see fixtures/SOURCES.md), for collector tests. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseNvidiaSmiXml, type GpuProbe } from '../../../agent/core/index.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const localFixtures = join(repoRoot, 'fixtures');
export const derivedFixtures = join(repoRoot, 'test/fixtures/derived');
export const standInNvidiaSmi = join(repoRoot, 'scripts/sim/nvidia-smi');

/** A path under fixtures/, e.g. fixture('gpud', 'dmesg-with-xid-119.log'). */
export function fixture(...parts: string[]): string {
  return join(localFixtures, ...parts);
}

export function read(path: string): string {
  return readFileSync(path, 'utf8');
}

/**
 * Every copied `nvidia-smi -q -x` capture: telegraf's, k8s-test-infra's, and the two k8s-test-infra
 * hardware captures kept in nvidia/ (qx-h100.xml, qx-gb200.xml).
 */
export function allNvidiaXmlCaptures(): string[] {
  const out: string[] = [];
  for (const dir of ['nvidia', 'telegraf', 'k8s-test-infra']) {
    for (const f of readdirSync(fixture(dir)).sort()) {
      if (!f.endsWith('.xml')) continue;
      const path = fixture(dir, f);
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
