/**
 * Thermal / hardware slowdown, judged on what happened BETWEEN two probes: the growth of the
 * driver's throttle-time counters over the interval (never the lifetime counters themselves, which
 * only grow), or, where a driver has no counters, the reason being active in both probes.
 * SW power capping is normal under load and is not judged.
 */
import type { GpuSample } from '../../core/index.js';
import type { Finding, Rule } from '../types.js';

export const THROTTLE_CHECK = 'throttle';

function slowdownUs(s: GpuSample): number | null {
  const c = s.clockEventCounters;
  if (c.hwThermalSlowdownUs === null && c.hwPowerBrakeUs === null && c.swThermalSlowdownUs === null) return null;
  return (c.hwThermalSlowdownUs ?? 0) + (c.hwPowerBrakeUs ?? 0) + (c.swThermalSlowdownUs ?? 0);
}

function activeReasons(s: GpuSample): string[] {
  const r = s.clockEventReasons;
  const out: string[] = [];
  if (r.hwSlowdown) out.push('hw_slowdown');
  if (r.hwThermalSlowdown) out.push('hw_thermal_slowdown');
  if (r.hwPowerBrakeSlowdown) out.push('hw_power_brake_slowdown');
  if (r.swThermalSlowdown) out.push('sw_thermal_slowdown');
  return out;
}

export const throttleRule: Rule = (input, config) => {
  const cur = input.probe;
  const prev = input.previous;
  if (!cur || !prev || prev.intervalMs <= 0) return [];
  const out: Finding[] = [];
  for (const s of cur.samples) {
    const p = prev.probe.samples.find((x) => x.uuid === s.uuid && x.index === s.index);
    if (!p) continue;
    const a = slowdownUs(p);
    const b = slowdownUs(s);
    if (a !== null && b !== null) {
      const delta = b - a;
      if (delta < 0) continue; // counters reset (driver reload)
      const share = delta / (prev.intervalMs * 1000);
      if (share >= config.throttle.minShare) {
        out.push({
          check: THROTTLE_CHECK,
          severity: 'warn',
          gpu: s.index,
          scope: 'node',
          evidence: `HW/thermal slowdown ${(delta / 1e6).toFixed(1)} s of the last ${(prev.intervalMs / 1000).toFixed(1)} s (${Math.round(share * 100)}%)${activeReasons(s).length ? `; active: ${activeReasons(s).join(', ')}` : ''}`,
        });
      }
      continue;
    }
    const both = activeReasons(s).filter((r) => activeReasons(p).includes(r));
    if (both.length > 0) {
      out.push({ check: THROTTLE_CHECK, severity: 'warn', gpu: s.index, scope: 'node', evidence: `slowdown active in two probes in a row: ${both.join(', ')}` });
    }
  }
  return out;
};
