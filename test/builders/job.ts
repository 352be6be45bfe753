/** Job spec builders: a valid spec with overrides (plain values, as parsed from YAML). */
import { stringify } from 'yaml';

export function jobSpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { kind: 'Training', name: 'job-1', command: ['python', 'train.py'], ...overrides };
}

/** The same as YAML text. */
export function jobYaml(overrides: Record<string, unknown> = {}): string {
  return stringify(jobSpec(overrides));
}
