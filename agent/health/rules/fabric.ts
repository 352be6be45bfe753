/**
 * NVLink fabric (NVSwitch / multi-node NVLink) registration and health, per GPU. GPUs that report
 * no fabric (PCIe boards: N/A) are not judged.
 */
import type { Finding, Rule } from '../types.js';

export const FABRIC_CHECK = 'fabric';

export const fabricRule: Rule = (input) => {
  const out: Finding[] = [];
  for (const s of input.probe?.samples ?? []) {
    const f = s.fabric;
    if (!f || f.state === '' || /not supported/i.test(f.state)) continue;
    if (f.state !== 'Completed') {
      out.push({
        check: FABRIC_CHECK,
        severity: f.state === 'In Progress' ? 'warn' : 'fail',
        gpu: s.index,
        scope: 'node',
        key: 'state',
        evidence: `fabric registration ${f.state}${f.status ? ` (${f.status})` : ''}`,
      });
      continue;
    }
    if (f.status !== 'Success') {
      out.push({ check: FABRIC_CHECK, severity: 'fail', gpu: s.index, scope: 'node', key: 'status', evidence: `fabric status ${f.status || 'unknown'}` });
    }
    if (f.healthSummary !== '' && f.healthSummary !== 'Healthy') {
      out.push({ check: FABRIC_CHECK, severity: 'fail', gpu: s.index, scope: 'node', key: 'health', evidence: `fabric health ${f.healthSummary}` });
    }
    if (/^true$/i.test(f.routeUnhealthy)) {
      out.push({ check: FABRIC_CHECK, severity: 'fail', gpu: s.index, scope: 'node', key: 'route', evidence: 'fabric route unhealthy' });
    }
    if (f.bandwidth !== '' && f.bandwidth !== 'Full') {
      out.push({ check: FABRIC_CHECK, severity: 'warn', gpu: s.index, scope: 'node', key: 'bandwidth', evidence: `fabric bandwidth ${f.bandwidth}` });
    }
  }
  return out;
};
