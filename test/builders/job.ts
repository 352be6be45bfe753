/** Job spec builders: a valid spec with overrides (plain values, as parsed from YAML). */
import { stringify } from 'yaml';
import { validateJobSpec as validateJobSpecForBuilder } from '../../shared/jobspec/index.js';

export function jobSpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { kind: 'Training', name: 'job-1', command: ['python', 'train.py'], ...overrides };
}

/** The same as YAML text. */
export function jobYaml(overrides: Record<string, unknown> = {}): string {
  return stringify(jobSpec(overrides));
}

/** A JobRecord for policy and planner tests: pending unless `on` places it (whole nodes' GPUs). */
export function jobRecord(
  id: string,
  spec: Record<string, unknown> = {},
  extra: Partial<import('../../shared/domain/index.js').JobRecord> & { on?: Array<{ node: string; gpus: number[] }> } = {},
): import('../../shared/domain/index.js').JobRecord {
  const { on, ...rest } = extra;
  const v = validateJobSpecForBuilder({ ...jobSpec(), name: id.replace(/-\d+$/, ''), ...spec });
  const ranks = (on ?? []).map((p, i) => ({
    rank: i,
    unit: 0,
    node: p.node,
    gpus: p.gpus,
    gpuUuids: p.gpus.map(() => ''),
    topologyAddress: p.node,
    state: 'running' as const,
    exitCode: null,
    signal: null,
  }));
  return {
    id,
    spec: v,
    owner: 'test',
    state: on ? 'running' : 'pending',
    message: '',
    attempt: 0,
    epoch: on ? 1 : 0,
    submittedMs: 0,
    updatedMs: 0,
    startedMs: 0,
    finishedMs: 0,
    requeueAtMs: 0,
    ranks,
    masterPort: 0,
    ...rest,
  };
}
