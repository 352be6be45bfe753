/** InfiniBand (or, when configured, RoCE) ports down or below the expected rate. */
import type { Finding, Rule } from '../types.js';

export const IB_CHECK = 'infiniband';

export const infinibandRule: Rule = (input, config) => {
  const out: Finding[] = [];
  const { devices, linkLayers, minRateGbps } = config.ib;
  for (const h of input.hcas ?? []) {
    if (devices.length > 0 && !devices.includes(h.name)) continue;
    for (const p of h.ports) {
      if (linkLayers.length > 0 && !linkLayers.includes(p.linkLayer)) continue;
      const where = `${h.name} port ${p.port}`;
      if (p.state !== 'ACTIVE' || (p.physState !== '' && p.physState !== 'LinkUp')) {
        out.push({ check: IB_CHECK, severity: 'fail', scope: 'node', key: `${where}/state`, evidence: `${where} ${p.state}/${p.physState} (${p.linkLayer})` });
      } else if (minRateGbps > 0 && p.rateGbps < minRateGbps) {
        out.push({ check: IB_CHECK, severity: 'warn', scope: 'node', key: `${where}/rate`, evidence: `${where} at ${p.rateGbps} Gb/s, expected ${minRateGbps}` });
      }
    }
  }
  return out;
};
