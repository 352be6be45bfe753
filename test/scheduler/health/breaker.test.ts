/** The circuit breaker, pure: the share of nodes out, its rounding, and which nodes count as out. */
import t from 'tap';
import { breakerDecision, isOut, maxOutNodes } from '../../../scheduler/health/index.js';
import type { NodeRecord } from '../../../shared/domain/index.js';

type N = Pick<NodeRecord, 'name' | 'schedulability' | 'connectivity' | 'health'>;
const node = (name: string, over: Partial<N> = {}): N => ({ name, schedulability: 'schedulable', connectivity: 'ready', health: 'ok', ...over });
const fleet = (n: number, out: Record<string, Partial<N>> = {}): N[] => Array.from({ length: n }, (_, i) => node(`n${i + 1}`, out[`n${i + 1}`]));

t.test('maxOutNodes: floor of total × share, robust to binary fractions', async (t) => {
  t.equal(maxOutNodes(10, 0.1), 1, '10 nodes at 0.1: at most 1 out');
  t.equal(maxOutNodes(9, 0.1), 1, '9 nodes at 0.1: still 1 (at least one for a share above 0)');
  t.equal(maxOutNodes(1, 0.1), 1, 'one node: it may be taken out');
  t.equal(maxOutNodes(19, 0.1), 1);
  t.equal(maxOutNodes(20, 0.1), 2);
  t.equal(maxOutNodes(100, 0.29), 29, '0.29 × 100 is 28.999… in binary: still 29');
  t.equal(maxOutNodes(30, 0.1 * 3), 9, '0.30000000000000004 × 30');
  t.equal(maxOutNodes(10, 1), 10);
  t.equal(maxOutNodes(10, 0), 0, 'a share of 0: no automatic action at all');
  t.equal(maxOutNodes(0, 0.1), 0);
});

t.test('isOut: cordoned, draining, lost or unhealthy', async (t) => {
  t.notOk(isOut(node('a')));
  t.notOk(isOut(node('a', { health: 'warn' })), 'warn is not out');
  t.ok(isOut(node('a', { schedulability: 'cordoned' })));
  t.ok(isOut(node('a', { schedulability: 'draining' })));
  t.ok(isOut(node('a', { connectivity: 'lost' })));
  t.ok(isOut(node('a', { health: 'fail' })));
});

t.test('10 nodes at 0.1: the first node out is allowed, a second is held back with why', async (t) => {
  t.match(breakerDecision(fleet(10), 'n1', 0.1), { allowed: true, outAfter: 1, total: 10, maxOut: 1 });
  // n1 itself failing (its verdict makes it unhealthy) does not count twice.
  t.match(breakerDecision(fleet(10, { n1: { health: 'fail' } }), 'n1', 0.1), { allowed: true, outAfter: 1 });
  const d = breakerDecision(fleet(10, { n1: { schedulability: 'cordoned' } }), 'n2', 0.1);
  t.match(d, { allowed: false, outAfter: 2, total: 10, maxOut: 1 });
  t.equal(d.why, '2 of 10 nodes would be out, more than health.maxAutoDrainShare 0.1 allows (1)');
  for (const out of [{ schedulability: 'draining' as const }, { connectivity: 'lost' as const }, { health: 'fail' as const }]) {
    t.equal(breakerDecision(fleet(10, { n5: out }), 'n2', 0.1).allowed, false, `another node ${JSON.stringify(out)} counts as out`);
  }
  t.equal(breakerDecision(fleet(20, { n1: { schedulability: 'cordoned' } }), 'n2', 0.1).allowed, true, '20 nodes: 2 may be out');
});

t.test('two nodes failing together: both held back (each sees the other unhealthy)', async (t) => {
  const nodes = fleet(10, { n1: { health: 'fail' }, n2: { health: 'fail' } });
  t.equal(breakerDecision(nodes, 'n1', 0.1).allowed, false);
  t.equal(breakerDecision(nodes, 'n2', 0.1).allowed, false);
});

t.test('a node already cordoned, draining or lost: the step takes nothing more out, never held back', async (t) => {
  const nodes = fleet(10, { n1: { schedulability: 'cordoned' }, n2: { schedulability: 'draining' }, n3: { connectivity: 'lost' } });
  t.equal(breakerDecision(nodes, 'n2', 0.1).allowed, true);
  t.equal(breakerDecision(nodes, 'n3', 0.1).allowed, true);
  t.equal(breakerDecision(nodes, 'n4', 0.1).allowed, false);
});
