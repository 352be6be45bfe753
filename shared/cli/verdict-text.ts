/**
 * How the CLI shows what a health verdict asks for: the action the scheduler applies (its own, or
 * evict for fail; verdictAction) and the remedy a person applies. Pure; callers escape with printable().
 */
import { verdictAction, type HealthAction, type HealthVerdict } from '../domain/index.js';

const STRENGTH: Record<HealthAction, number> = { none: 0, cordon: 1, drain: 2, evict: 3 };

/** One verdict: `evict, remedy reset-gpu`, `drain`, `none`. */
export function verdictActionText(v: Pick<HealthVerdict, 'severity' | 'action' | 'remedy'>): string {
  return `${verdictAction(v)}${v.remedy ? `, remedy ${v.remedy}` : ''}`;
}

/** For a verdict line: ` [evict, remedy reset-gpu]`, or nothing when it asks for no action and names no remedy. */
export function verdictActionSuffix(v: Pick<HealthVerdict, 'severity' | 'action' | 'remedy'>): string {
  return verdictAction(v) === 'none' && !v.remedy ? '' : ` [${verdictActionText(v)}]`;
}

/**
 * A node's ACTION column: the strongest action among its not-ok verdicts and their remedies,
 * e.g. `evict (reset-gpu, reboot)`; `-` when none asks for anything.
 */
export function nodeActionText(verdicts: ReadonlyArray<Pick<HealthVerdict, 'severity' | 'action' | 'remedy'>>): string {
  const asking = verdicts.filter((v) => v.severity !== 'ok');
  let best: HealthAction = 'none';
  for (const v of asking) {
    const a = verdictAction(v);
    if (STRENGTH[a] > STRENGTH[best]) best = a;
  }
  const remedies = [...new Set(asking.map((v) => v.remedy).filter((r): r is string => !!r))];
  if (best === 'none' && remedies.length === 0) return '-';
  return `${best}${remedies.length ? ` (${remedies.join(', ')})` : ''}`;
}
