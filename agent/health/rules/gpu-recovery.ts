/**
 * The driver's own verdict: `gpu_recovery_action` (nvidia-smi -q -x, newer drivers). Reset and
 * Reboot fail the GPU and evict; Drain (Drain P2P, Drain and Reset) fails it with action drain (no
 * new work, running gangs finish, then reset); None and N/A say nothing. A value this rule cannot
 * read warns, so a new driver word is seen rather than dropped.
 */
import type { Finding, Rule } from '../types.js';
import { recoveryKindOf, recoveryOutcome } from './xid-catalog.js';

export const GPU_RECOVERY_CHECK = 'gpu-recovery';

export const gpuRecoveryRule: Rule = (input) => {
  const out: Finding[] = [];
  for (const s of input.probe?.samples ?? []) {
    const text = s.recoveryAction;
    if (text === undefined || text === null || text === '') continue;
    const kind = recoveryKindOf(text);
    const evidence = `gpu_recovery_action ${text}`.slice(0, 200);
    if (kind === null) {
      out.push({ check: GPU_RECOVERY_CHECK, severity: 'warn', gpu: s.index, scope: 'node', key: 'unknown', evidence });
      continue;
    }
    const o = recoveryOutcome(kind);
    if (!o) continue;
    out.push({
      check: GPU_RECOVERY_CHECK,
      severity: o.severity,
      gpu: s.index,
      scope: 'node',
      key: kind,
      evidence,
      ...(o.action !== undefined ? { action: o.action } : {}),
      ...(o.remedy !== undefined ? { remedy: o.remedy } : {}),
    });
  }
  return out;
};
