/** XIDs from the kernel log, judged by the configured policy. */
import type { GpuInfo } from '../../../shared/domain/index.js';
import { pciBusDevice } from '../../core/index.js';
import type { Finding, Rule } from '../types.js';

export const XID_CHECK = 'xid';

function gpuFor(busDevice: string, gpus: readonly GpuInfo[]): number | undefined {
  return gpus.find((g) => g.pciBusId !== '' && pciBusDevice(g.pciBusId) === busDevice)?.index;
}

export const xidRule: Rule = (input, config) => {
  const gpus = input.probe?.gpus ?? input.knownGpus ?? [];
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const e of input.xids ?? []) {
    const gpu = gpuFor(e.busDevice, gpus);
    const policy = config.xid;
    const scope = policy.failGpu.includes(e.xid)
      ? 'node'
      : policy.application.includes(e.xid)
        ? 'job'
        : policy.informational.includes(e.xid)
          ? 'info'
          : policy.unknown === 'warn'
            ? 'node'
            : 'info';
    const severity = policy.failGpu.includes(e.xid) ? 'fail' : scope === 'info' ? 'ok' : 'warn';
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
    });
  }
  return out;
};
