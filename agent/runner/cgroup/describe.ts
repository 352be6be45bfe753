/** What the host enforces, in words (the agent's start-up log line) and as gauge values, pure. */
import type { CgroupLayout } from './layout-types.js';

export const CONTAINMENT_FEATURES = ['kill', 'devices', 'memory', 'pids', 'cpuset', 'cpuUsage'] as const;
export type ContainmentFeature = (typeof CONTAINMENT_FEATURES)[number];

/** One series of `gantry_agent_containment_enforced{feature,via}`: 1 where enforced (via v2 or v1), 0 with via "none". */
export interface EnforcementGauge {
  feature: ContainmentFeature;
  via: 'v2' | 'v1' | 'none';
  value: 0 | 1;
}

export interface EnforcementDescription {
  /** e.g. "cgroups hybrid; enforced: kill (v2), memory (v1), ...; not enforced: devices". */
  line: string;
  gauges: EnforcementGauge[];
}

const LABEL: Record<ContainmentFeature, string> = {
  kill: 'kill',
  devices: 'devices',
  memory: 'memory',
  pids: 'pids',
  cpuset: 'cpuset',
  cpuUsage: 'cpu usage',
};

export function describeEnforcement(layout: CgroupLayout): EnforcementDescription {
  const on: string[] = [];
  const off: string[] = [];
  const gauges: EnforcementGauge[] = [];
  for (const f of CONTAINMENT_FEATURES) {
    const via = layout.enforced[f];
    if (via === null) {
      off.push(LABEL[f]);
      gauges.push({ feature: f, via: 'none', value: 0 });
    } else {
      on.push(`${LABEL[f]} (${via})`);
      gauges.push({ feature: f, via, value: 1 });
    }
  }
  const line = `cgroups ${layout.kind}; enforced: ${on.length > 0 ? on.join(', ') : 'nothing'}; not enforced: ${off.length > 0 ? off.join(', ') : 'nothing'}`;
  return { line, gauges };
}
