/**
 * NVLink links inactive (`nvidia-smi nvlink -s`). Only GPUs that should have NVLink are judged:
 * a GeForce card without a bridge also reports "all links are inactive" and is healthy.
 */
import type { HealthConfig, Finding, Rule } from '../types.js';

export const NVLINK_CHECK = 'nvlink';

/** SXM / HGX / NVL / Grace parts, whose NVLinks are always cabled. */
export function nvlinkExpectedByName(name: string): boolean {
  return /SXM|HBM3|\bH200\b|\bB100\b|\bB200\b|\bB300\b|\bGB200\b|\bGB300\b|\bGH200\b|\bNVL\b/i.test(name);
}

function expected(name: string, config: HealthConfig): boolean {
  return config.expectNvlink === 'auto' ? nvlinkExpectedByName(name) : config.expectNvlink;
}

export const nvlinkRule: Rule = (input, config) => {
  const out: Finding[] = [];
  for (const g of input.nvlink ?? []) {
    // unknown: NVML could not say (MIG mode prints "not supported"): not judged, neither healthy nor down.
    if (g.unsupported || g.unknown || !expected(g.name, config)) continue;
    if (g.allInactive) {
      out.push({ check: NVLINK_CHECK, severity: 'fail', gpu: g.index, scope: 'node', evidence: `${g.name}: all NVLinks inactive` });
      continue;
    }
    const down = g.links.filter((l) => !l.active).map((l) => l.link);
    if (down.length > 0) {
      out.push({
        check: NVLINK_CHECK,
        severity: 'fail',
        gpu: g.index,
        scope: 'node',
        evidence: `${g.name}: NVLink ${down.join(', ')} inactive (${g.links.length - down.length} of ${g.links.length} up)`,
      });
    }
  }
  return out;
};
