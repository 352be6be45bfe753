/** The planner avoids, for a job, the nodes whose prolog failed for it (issue 20: JobRecord.prologFailedOn). Pure. */
import t from 'tap';
import { planOn } from '../../builders/plan-cycle.js';
import { avoidPrologFailures, planCycle } from '../../../scheduler/jobs/planner.js';
import { DEFAULT_QUEUE } from '../../../scheduler/queue/index.js';
import type { JobRecord } from '../../../shared/domain/index.js';
import { rackCluster, type TestCluster } from '../../builders/cluster.js';
import { jobRecord } from '../../builders/job.js';

function plan(c: TestCluster, pending: JobRecord[]) {
  return planOn(c, { nowMs: 1_000_000, pending });
}

t.test('a job is not placed on a node whose prolog failed for it; other jobs are', async (t) => {
  const c = rackCluster(1, 1, 2); // n-0-0-0, n-0-0-1
  const job = jobRecord('p-1', { gpusPerRank: 8 }, { prologFailedOn: ['n-0-0-0'] });
  const p = plan(c, [job]);
  t.same(
    p.starts.map((s) => s.placements.flatMap((pl) => pl.ranks.map((r) => c.tree.nodeName(r.nodeId)))),
    [['n-0-0-1']],
    'placed on the other node',
  );
  const stuck = jobRecord('p-2', { gpusPerRank: 8 }, { prologFailedOn: ['n-0-0-0', 'n-0-0-1'] });
  const q = plan(rackCluster(1, 1, 2), [stuck]);
  t.same(q.starts, [], 'every node failed its prolog: it waits');
  t.match(q.waiting.get('p-2')?.text, /its prolog failed there \(n-0-0-0, n-0-0-1\)/, 'and says why');
  const other = plan(rackCluster(1, 1, 2), [jobRecord('o-3', { gpusPerRank: 8, ranks: 2 })]);
  t.equal(other.starts.length, 1, 'a job without prolog failures uses both nodes');
});

t.test('avoidPrologFailures: the mask unchanged without failures on this tree; combined with a port mask', async (t) => {
  const c = rackCluster(1, 1, 3);
  t.equal(avoidPrologFailures(null, {}, c.tree), null);
  t.equal(avoidPrologFailures(null, { prologFailedOn: ['elsewhere'] }, c.tree), null, 'a node not in the tree changes nothing');
  const m = avoidPrologFailures(null, { prologFailedOn: ['n-0-0-1'] }, c.tree)!;
  t.same([...m.nodeMask], [1, 0, 1]);
  const ports = { nodeMask: Uint8Array.from([0, 1, 1]), maskReason: 'service ports overlap', key: '0|ports' };
  const both = avoidPrologFailures(ports, { prologFailedOn: ['n-0-0-2'] }, c.tree)!;
  t.same([...both.nodeMask], [0, 1, 0]);
  t.equal(both.maskReason, 'service ports overlap; its prolog failed there (n-0-0-2)');
  t.same([...ports.nodeMask], [0, 1, 1], "the port mask itself is not changed");
  t.not(both.key, ports.key, 'a different memo key');
});
