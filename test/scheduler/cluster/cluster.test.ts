import t from 'tap';
import { ClusterModel, type Registration } from '../../../scheduler/cluster/index.js';
import { emptyInventory } from '../../../shared/domain/index.js';

const reg = (name: string, over: Partial<Registration> = {}): Registration => ({
  name, address: name, agentVersion: '1', inventory: emptyInventory(name), labels: {}, verdicts: [], allowedUsers: [], allowRoot: false, ...over,
});

t.test('connectivity transitions', async (t) => {
  const c = new ClusterModel(1000);
  t.same(c.register(reg('a'), 0).map((x) => x.type), ['registered'], 'first registration');
  t.same(c.sweep(999), [], 'not lost before the deadline');
  t.same(c.report('a', {}, 500).map((x) => x.type), [], 'a report moves the deadline');
  t.same(c.sweep(1499), [], 'deadline moved by the report');
  const lost = c.sweep(1500);
  t.same(lost.map((x) => [x.type, x.node.name]), [['lost', 'a']], 'lost once the deadline passes');
  t.same(c.sweep(5000), [], 'lost is reported once');
  const back = c.report('a', {}, 2500);
  t.same(back.map((x) => x.type), ['back'], 'a lost node that reports is back');
  t.equal((back[0] as { downForMs: number }).downForMs, 2000, 'with how long it was away');
  t.same(c.register(reg('a'), 2600).map((x) => x.type), ['reconnected'], 'a reconnect of a ready node is only a reconnect');
  t.same(c.report('nope', {}, 0), [], 'reports of unknown nodes are ignored');
});

t.test('schedulability survives reconnects; health follows verdicts', async (t) => {
  const c = new ClusterModel(1000);
  c.register(reg('a'), 0);
  c.load([{ ...c.get('a')!, schedulability: 'cordoned', schedulabilityReason: 'maintenance' }], 0);
  c.register(reg('a'), 10);
  t.equal(c.get('a')!.schedulability, 'cordoned', 'cordon kept across a reconnect');
  t.equal(c.get('a')!.schedulabilityReason, 'maintenance');
  const tr = c.report('a', { verdicts: [{ check: 'xid', severity: 'fail', gpu: 3, evidence: 'Xid 79', firstSeenMs: 5 }] }, 20);
  t.same(tr.map((x) => x.type), ['health'], 'a fail verdict changes health');
  t.equal(c.get('a')!.health, 'fail');
  t.same(c.countBy(), { ready: 1, lost: 0, schedulable: 0, cordoned: 1, draining: 0, ok: 0, warn: 0, fail: 1 });
});

t.test('load gives ready nodes a fresh deadline', async (t) => {
  const c = new ClusterModel(1000);
  c.register(reg('a'), 0);
  const stored = c.get('a')!;
  const d = new ClusterModel(1000);
  d.load([stored], 50_000);
  t.same(d.sweep(50_500), [], 'not lost at once after a scheduler restart');
  t.same(d.sweep(51_000).map((x) => x.type), ['lost'], 'but lost if it does not come back in time');
  const e = new ClusterModel(1000);
  e.load([stored], 50_000, 30_000);
  t.same(e.sweep(79_999), [], 'a restart grace longer than lostAfterMs holds');
  t.same(e.sweep(80_000).map((x) => x.type), ['lost']);
});

t.test('list: every node once, by name, with its current record, however names arrive', async (t) => {
  const c = new ClusterModel(1000);
  c.load([{ ...(c.register(reg('n-07'), 0)[0]!.node) }, { ...(c.register(reg('n-02'), 0)[0]!.node) }], 0);
  for (const name of ['n-10', 'n-01', 'n-05', 'n-02', 'n-99', 'n-00', 'n-05']) c.register(reg(name), 1);
  c.report('n-05', {}, 7);
  const names = c.list().map((n) => n.name);
  t.same(names, ['n-00', 'n-01', 'n-02', 'n-05', 'n-07', 'n-10', 'n-99'], 'sorted, no repeats');
  t.equal(c.list().length, c.size);
  t.equal(c.list().find((n) => n.name === 'n-05')!.lastSeenMs, 7, 'the record after the latest report, not the one at join');
  t.equal(c.list().find((n) => n.name === 'n-05'), c.get('n-05'), 'the same object get() returns');
});
