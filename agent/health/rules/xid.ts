/**
 * XIDs from the kernel log. Each is judged by the configured policy's lists first (an operator's
 * explicit choice), then by NVIDIA's resolution class (xid-catalog.ts), then by `unknown`; see
 * XidPolicy. Node findings carry the class's action and remedy.
 */
import type { GpuInfo } from '../../../shared/domain/index.js';
import { pciBusDevice } from '../../core/index.js';
import type { XidEvent } from '../../core/index.js';
import type { Finding, Rule, XidPolicy } from '../types.js';
import { catalogOutcome, type XidOutcome } from './xid-catalog.js';

export const XID_CHECK = 'xid';

function gpuFor(busDevice: string, gpus: readonly GpuInfo[]): number | undefined {
  return gpus.find((g) => g.pciBusId !== '' && pciBusDevice(g.pciBusId) === busDevice)?.index;
}

/** One XID's judgement: the policy's lists, then the catalog, then `unknown`; then the policy's per-XID action. Pure. */
export function judgeXid(e: Pick<XidEvent, 'xid' | 'message'>, policy: XidPolicy): XidOutcome {
  const o = judgeXidByLists(e, policy);
  const override = policy.actions?.[String(e.xid)];
  return override !== undefined && o.scope === 'node' ? { ...o, action: override } : o;
}

function judgeXidByLists(e: Pick<XidEvent, 'xid' | 'message'>, policy: XidPolicy): XidOutcome {
  const catalog = catalogOutcome(e.xid, e.message);
  if (policy.failGpu.includes(e.xid)) {
    const c = catalog?.outcome;
    return c && c.scope === 'node' && c.severity === 'fail' ? c : { severity: 'fail', scope: 'node', action: 'evict' };
  }
  if (policy.application.includes(e.xid)) return { severity: 'warn', scope: 'job' };
  if (policy.informational.includes(e.xid)) return { severity: 'ok', scope: 'info' };
  if (catalog) return catalog.outcome;
  return policy.unknown === 'warn' ? { severity: 'warn', scope: 'node' } : { severity: 'ok', scope: 'info' };
}

export const xidRule: Rule = (input, config) => {
  const gpus = input.probe?.gpus ?? input.knownGpus ?? [];
  const out: Finding[] = [];
  const seen = new Set<string>();
  const xids = input.xids ?? [];
  // XID 154 states the GPU's current recovery action: only the latest per GPU counts.
  const last154 = new Map<string, XidEvent>();
  for (const e of xids) if (e.xid === 154) last154.set(e.busDevice, e);
  for (const e of xids) {
    if (e.xid === 154 && last154.get(e.busDevice) !== e) continue;
    const gpu = gpuFor(e.busDevice, gpus);
    const { scope, severity, action, remedy } = judgeXid(e, config.xid);
    // Node findings: one per (XID, GPU); job findings: one per (XID, GPU, pid).
    const key = scope === 'job' ? `${e.xid}/${e.pid ?? ''}` : String(e.xid);
    const dedupe = `${key}@${e.busDevice}`;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    const who = e.processName || e.pid !== null ? ` (pid ${e.pid ?? '?'} ${e.processName})` : '';
    out.push({
      check: XID_CHECK,
      severity,
      ...(gpu !== undefined ? { gpu } : {}),
      scope,
      key,
      evidence: `Xid ${e.xid} on PCI ${e.pci}${who}: ${e.message}`.slice(0, 400),
      ...(e.pid !== null ? { pid: e.pid } : {}),
      ...(e.processName ? { processName: e.processName } : {}),
      ...(scope === 'node' && action !== undefined ? { action } : {}),
      ...(scope === 'node' && remedy !== undefined ? { remedy } : {}),
    });
  }
  return out;
};
