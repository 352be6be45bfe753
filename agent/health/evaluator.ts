/**
 * Runs every rule over one HealthInput and keeps first-seen times. The clock value is passed in
 * (`nowMs`); nothing here reads the time.
 *
 * - Node findings become HealthVerdicts (`verdicts`), sorted by severity then check then GPU, with
 *   the rule's action and remedy when it gives them.
 * - Job findings (application XIDs) are returned apart (`jobFindings`) for the agent to attach to
 *   the job running on that GPU; they do not change the node's health.
 * - Info findings are returned in `info` (severity 'ok'), recorded only.
 * A condition keeps its first-seen time while it is reported in consecutive evaluations; once it
 * disappears, a later recurrence starts a new first-seen time.
 * The evaluator also remembers the previous successful probe and its time, so delta rules
 * (throttle) get `previous` without the caller tracking it, and the most GPUs seen, used as the
 * expected count when the configuration does not give one.
 */
import type { HealthVerdict, Severity } from '../../shared/domain/index.js';
import { worstSeverity } from '../../shared/domain/index.js';
import type { GpuProbe } from '../core/index.js';
import { DEFAULT_HEALTH_CONFIG, type Finding, type HealthConfig, type HealthInput, type Rule } from './types.js';
import { xidRule } from './rules/xid.js';
import { eccUncorrectableRule } from './rules/ecc-uncorrectable.js';
import { rowRemapRule } from './rules/row-remap.js';
import { retiredPagesRule } from './rules/retired-pages.js';
import { nvlinkRule } from './rules/nvlink.js';
import { fabricRule } from './rules/fabric.js';
import { gpuCountRule } from './rules/gpu-count.js';
import { gpuLostRule } from './rules/gpu-lost.js';
import { throttleRule } from './rules/throttle.js';
import { infinibandRule } from './rules/infiniband.js';
import { probeRule } from './rules/probe.js';
import { gpuRecoveryRule } from './rules/gpu-recovery.js';

/** Every rule, in evaluation order. */
export const ALL_RULES: ReadonlyArray<{ name: string; rule: Rule }> = [
  { name: 'gpu-probe', rule: probeRule },
  { name: 'gpu-lost', rule: gpuLostRule },
  { name: 'gpu-count', rule: gpuCountRule },
  { name: 'xid', rule: xidRule },
  { name: 'ecc-uncorrectable', rule: eccUncorrectableRule },
  { name: 'row-remap', rule: rowRemapRule },
  { name: 'retired-pages', rule: retiredPagesRule },
  { name: 'nvlink', rule: nvlinkRule },
  { name: 'fabric', rule: fabricRule },
  { name: 'gpu-recovery', rule: gpuRecoveryRule },
  { name: 'throttle', rule: throttleRule },
  { name: 'infiniband', rule: infinibandRule },
];

export interface JobFinding {
  check: string;
  gpu?: number;
  pid?: number;
  processName?: string;
  evidence: string;
  firstSeenMs: number;
}

export interface HealthReport {
  /** Node-scope verdicts, worst first. */
  verdicts: HealthVerdict[];
  /** The worst severity among verdicts. */
  severity: Severity;
  jobFindings: JobFinding[];
  info: HealthVerdict[];
}

export interface HealthEvaluator {
  evaluate(input: HealthInput, nowMs: number): HealthReport;
  /** Forget first-seen times and the remembered probe. */
  reset(): void;
}

export interface HealthEvaluatorOptions {
  config?: Partial<HealthConfig>;
  /** Replace the rule set (tests, or a deployment turning a rule off). */
  rules?: ReadonlyArray<{ name: string; rule: Rule }>;
}

/** Pure: evaluate the rules once, without first-seen tracking. */
export function runRules(input: HealthInput, config: HealthConfig, rules: ReadonlyArray<{ name: string; rule: Rule }> = ALL_RULES): Finding[] {
  return rules.flatMap((r) => r.rule(input, config));
}

const RANK: Record<Severity, number> = { fail: 0, warn: 1, ok: 2 };

function identity(f: Finding): string {
  return `${f.scope}|${f.check}|${f.gpu ?? '-'}|${f.key ?? ''}`;
}

export function createHealthEvaluator(options: HealthEvaluatorOptions = {}): HealthEvaluator {
  const base: HealthConfig = { ...DEFAULT_HEALTH_CONFIG, ...options.config };
  const rules = options.rules ?? ALL_RULES;
  let firstSeen = new Map<string, number>();
  let last: { probe: GpuProbe; atMs: number } | null = null;
  let maxGpus = 0;

  return {
    reset: () => {
      firstSeen = new Map();
      last = null;
      maxGpus = 0;
    },
    evaluate: (input, nowMs) => {
      const probe = input.probe ?? null;
      if (probe) maxGpus = Math.max(maxGpus, probe.gpus.length);
      const config: HealthConfig = { ...base, expectedGpus: base.expectedGpus > 0 ? base.expectedGpus : maxGpus };
      const effective: HealthInput = {
        ...input,
        previous:
          input.previous !== undefined
            ? input.previous
            : probe && last && last.probe !== probe
              ? { probe: last.probe, intervalMs: nowMs - last.atMs }
              : null,
      };
      const findings = runRules(effective, config, rules);
      if (probe && (!last || last.probe !== probe)) last = { probe, atMs: nowMs };

      const next = new Map<string, number>();
      const stamp = (f: Finding): number => {
        const id = identity(f);
        const t = next.get(id) ?? firstSeen.get(id) ?? nowMs;
        next.set(id, t);
        return t;
      };
      const verdicts: HealthVerdict[] = [];
      const info: HealthVerdict[] = [];
      const jobFindings: JobFinding[] = [];
      for (const f of findings) {
        const firstSeenMs = stamp(f);
        if (f.scope === 'job') {
          jobFindings.push({
            check: f.check,
            ...(f.gpu !== undefined ? { gpu: f.gpu } : {}),
            ...(f.pid !== undefined ? { pid: f.pid } : {}),
            ...(f.processName !== undefined ? { processName: f.processName } : {}),
            evidence: f.evidence,
            firstSeenMs,
          });
          continue;
        }
        const v: HealthVerdict = {
          check: f.check,
          severity: f.scope === 'info' ? 'ok' : f.severity,
          ...(f.gpu !== undefined ? { gpu: f.gpu } : {}),
          evidence: f.evidence,
          firstSeenMs,
          ...(f.scope === 'node' && f.action !== undefined ? { action: f.action } : {}),
          ...(f.scope === 'node' && f.remedy !== undefined ? { remedy: f.remedy } : {}),
        };
        if (f.scope === 'info' || v.severity === 'ok') info.push(v);
        else verdicts.push(v);
      }
      firstSeen = next;
      verdicts.sort(
        (a, b) => RANK[a.severity] - RANK[b.severity] || a.check.localeCompare(b.check) || (a.gpu ?? -1) - (b.gpu ?? -1),
      );
      return { verdicts, severity: worstSeverity(verdicts), jobFindings, info };
    },
  };
}
