/** Health policy, pure: verdicts to the node's strongest action, and each step of the table in policy.ts. */
import t from 'tap';
import { incidentReason, incidentStep, isIncidentReason, isVerdictReason, strongestAction, verdictStep } from '../../../scheduler/health/index.js';
import type { HealthVerdict, NodeRecord } from '../../../shared/domain/index.js';

const v = (check: string, severity: HealthVerdict['severity'], over: Partial<HealthVerdict> = {}): HealthVerdict => ({ check, severity, evidence: '', firstSeenMs: 0, ...over });
type N = Pick<NodeRecord, 'verdicts' | 'schedulability' | 'schedulabilityReason'>;
const node = (verdicts: HealthVerdict[], schedulability: N['schedulability'] = 'schedulable', schedulabilityReason = ''): N => ({ verdicts, schedulability, schedulabilityReason });

t.test('strongestAction: evict > drain > cordon > none; fail without an action evicts; the checks name the verdicts with an action', async (t) => {
  t.same(strongestAction([]), { action: 'none', checks: [] });
  t.same(strongestAction([v('ecc', 'warn')]), { action: 'none', checks: [] });
  t.same(strongestAction([v('xid', 'fail', { gpu: 3 })]), { action: 'evict', checks: ['xid gpu 3'] });
  t.same(strongestAction([v('pcie', 'warn', { action: 'cordon' }), v('row-remap', 'warn', { action: 'drain', gpu: 1 })]), { action: 'drain', checks: ['pcie', 'row-remap gpu 1'] });
  t.same(strongestAction([v('xid', 'fail', { action: 'drain' }), v('temp', 'warn', { action: 'cordon' })]), { action: 'drain', checks: ['xid', 'temp'] }, "a fail verdict's own action wins over evict");
  t.same(strongestAction([v('xid', 'fail', { action: 'none' })]), { action: 'none', checks: [] });
  t.same(strongestAction([v('a', 'warn', { action: 'cordon' }), v('b', 'fail')]).action, 'evict');
});

t.test('reasons: verdict reasons are policy\'s own; incident reasons are not', async (t) => {
  t.equal(incidentReason('gpu-clean', 'pid 42 (alice) left on GPU 0'), 'health: gpu-clean: pid 42 (alice) left on GPU 0');
  t.ok(isIncidentReason('health: prolog: exit 1'));
  t.notOk(isIncidentReason('health: xid gpu 3'));
  t.ok(isVerdictReason('health: xid gpu 3'));
  t.notOk(isVerdictReason('health: epilog: exit 2'));
  t.notOk(isVerdictReason('maintenance'));
});

t.test('verdictStep: each row of the table', async (t) => {
  t.match(verdictStep(node([v('xid', 'fail', { gpu: 3 })])), { set: { schedulability: 'cordoned', reason: 'health: xid gpu 3' }, takesOut: true, evict: true, action: 'evict' });
  t.match(verdictStep(node([v('pcie', 'warn', { action: 'cordon' })])), { set: { schedulability: 'cordoned', reason: 'health: pcie' }, takesOut: true, evict: false });
  t.match(verdictStep(node([v('rows', 'warn', { action: 'drain' })])), { set: { schedulability: 'draining', reason: 'health: rows' }, takesOut: true, evict: false });
  // Out by policy's own reason: updated without the breaker (takes nothing more out).
  t.match(verdictStep(node([v('xid', 'fail'), v('nvlink', 'fail')], 'cordoned', 'health: xid')), { set: { schedulability: 'cordoned', reason: 'health: xid, nvlink' }, takesOut: false, evict: true });
  t.match(verdictStep(node([v('rows', 'warn', { action: 'drain' })], 'cordoned', 'health: xid')), { set: { schedulability: 'draining', reason: 'health: rows' }, takesOut: false });
  t.same(verdictStep(node([v('xid', 'fail')], 'cordoned', 'health: xid')).set, undefined, 'already as wanted: nothing to set');
  // Out for another reason: left as it is, but an evict still evicts.
  t.match(verdictStep(node([v('xid', 'fail')], 'cordoned', 'maintenance')), { set: undefined, takesOut: false, evict: true });
  t.match(verdictStep(node([v('xid', 'fail')], 'draining', 'health: prolog: exit 1')), { set: undefined, evict: true });
  // Verdicts clear: policy lifts only its own verdict cordon or drain.
  t.match(verdictStep(node([v('ecc', 'warn')], 'cordoned', 'health: xid gpu 3')), { set: { schedulability: 'schedulable', reason: '' } });
  t.match(verdictStep(node([], 'draining', 'health: rows')), { set: { schedulability: 'schedulable', reason: '' } });
  t.same(verdictStep(node([], 'cordoned', 'maintenance')).set, undefined, "an operator's cordon stays");
  t.same(verdictStep(node([], 'draining', 'health: gpu-clean: pid 7 left')).set, undefined, "an incident's drain stays");
  t.same(verdictStep(node([])).set, undefined);
});

t.test('incidentStep: drains a schedulable node; a node already out is left as it is (idempotent)', async (t) => {
  t.match(incidentStep({ schedulability: 'schedulable' }, 'prolog', 'exit 1'), { set: { schedulability: 'draining', reason: 'health: prolog: exit 1' }, takesOut: true, evict: false });
  t.same(incidentStep({ schedulability: 'draining' }, 'prolog', 'exit 1').set, undefined);
  t.same(incidentStep({ schedulability: 'cordoned' }, 'epilog', 'exit 1').set, undefined);
});
