/**
 * Health policy (issue 20), pure: what a node's verdicts and incidents do to its schedulability.
 * Each verdict has an action (verdictAction: its own, or evict for a fail verdict without one); a
 * node takes its strongest (evict > drain > cordon > none):
 *
 *   strongest action   node now                                   → node            evict gangs
 *   evict, cordon      schedulable, or out by policy's own reason → cordoned R       evict only
 *   drain              schedulable, or out by policy's own reason → draining R (no deadline)
 *   evict              out for another reason (operator, incident) → unchanged       evict
 *   none               out by policy's own verdict reason          → schedulable
 *   an incident        schedulable                                → draining `health: <source>: <reason>`
 *   an incident        out for any reason                         → unchanged (idempotent)
 *
 * R = `health: <checks>` (the verdicts with an action, e.g. `xid gpu 3`). Policy lifts only its own
 * verdict cordons and drains; an incident's drain stays until an operator (or a diagnostic) lifts
 * it. Every step that takes a schedulable node out is first put to the circuit breaker (breaker.ts).
 */
import { verdictAction, type HealthAction, type HealthVerdict, type NodeRecord, type Schedulability } from '../../shared/domain/index.js';

/** Cordon and drain reasons set by health policy start with this, so policy can lift its own. */
export const HEALTH_REASON_PREFIX = 'health: ';

/** Where an incident comes from (NodeIncident.source). */
export type IncidentSource = 'prolog' | 'epilog' | 'gpu-clean';
export const INCIDENT_SOURCES: ReadonlySet<IncidentSource> = new Set(['prolog', 'epilog', 'gpu-clean']);

const RANK: Record<HealthAction, number> = { none: 0, cordon: 1, drain: 2, evict: 3 };

/** The node's strongest action and the checks that ask for an action (`xid gpu 3`), in verdict order. */
export function strongestAction(verdicts: readonly HealthVerdict[]): { action: HealthAction; checks: string[] } {
  let action: HealthAction = 'none';
  const checks: string[] = [];
  for (const v of verdicts) {
    const a = verdictAction(v);
    if (a === 'none') continue;
    checks.push(`${v.check}${v.gpu !== undefined ? ` gpu ${v.gpu}` : ''}`);
    if (RANK[a] > RANK[action]) action = a;
  }
  return { action, checks };
}

export function verdictReason(checks: readonly string[]): string {
  return HEALTH_REASON_PREFIX + checks.join(', ');
}

export function incidentReason(source: IncidentSource, reason: string): string {
  return `${HEALTH_REASON_PREFIX}${source}: ${reason}`;
}

/** A drain reason an incident set (`health: prolog: ...`). */
export function isIncidentReason(reason: string): boolean {
  if (!reason.startsWith(HEALTH_REASON_PREFIX)) return false;
  const rest = reason.slice(HEALTH_REASON_PREFIX.length);
  for (const s of INCIDENT_SOURCES) if (rest.startsWith(`${s}: `)) return true;
  return false;
}

/** A cordon or drain that verdict policy set (and may lift or change). */
export function isVerdictReason(reason: string): boolean {
  return reason.startsWith(HEALTH_REASON_PREFIX) && !isIncidentReason(reason);
}

/** What policy does to a node: a new schedulability (absent: unchanged), whether that takes it out, and whether its gangs are evicted. */
export interface PolicyStep {
  set?: { schedulability: Schedulability; reason: string };
  /** The step takes a schedulable node out (the breaker decides). */
  takesOut: boolean;
  /** Stop and requeue the gangs with a rank on the node (action evict). */
  evict: boolean;
  action: HealthAction;
  checks: string[];
}

/** The step for a node's current verdicts (see the table above). */
export function verdictStep(node: Pick<NodeRecord, 'verdicts' | 'schedulability' | 'schedulabilityReason'>): PolicyStep {
  const { action, checks } = strongestAction(node.verdicts);
  const ours = node.schedulability !== 'schedulable' && isVerdictReason(node.schedulabilityReason);
  const free = node.schedulability === 'schedulable';
  const base = { action, checks, takesOut: false, evict: false };
  if (action === 'none') return ours ? { ...base, set: { schedulability: 'schedulable', reason: '' } } : base;
  const want: Schedulability = action === 'drain' ? 'draining' : 'cordoned';
  const reason = verdictReason(checks);
  const evict = action === 'evict';
  if (free) return { ...base, set: { schedulability: want, reason }, takesOut: true, evict };
  if (ours && (node.schedulability !== want || node.schedulabilityReason !== reason)) return { ...base, set: { schedulability: want, reason }, evict };
  return { ...base, evict };
}

/** The step for an incident: drain a schedulable node; a node already out is left as it is. */
export function incidentStep(node: Pick<NodeRecord, 'schedulability'>, source: IncidentSource, reason: string): PolicyStep {
  if (node.schedulability !== 'schedulable') return { takesOut: false, evict: false, action: 'drain', checks: [] };
  return { set: { schedulability: 'draining', reason: incidentReason(source, reason) }, takesOut: true, evict: false, action: 'drain', checks: [] };
}
