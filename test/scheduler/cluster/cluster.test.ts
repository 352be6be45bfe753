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
  t.same(c.countBy(), { ready: 1, lost: 0, schedulable: 0, cordoned: 1, draining: 0, ok: 0, warn: 0, fail: 1, awaitingApproval: 0 });
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

t.test('approval: with requireApproval a new name joins awaiting it, keeps the flag across reconnects and restarts, and loses it when approved', async (t) => {
  const c = new ClusterModel(1000, true);
  t.same(c.register(reg('a'), 0).map((x) => x.type), ['registered']);
  t.equal(c.get('a')!.awaitingApproval, true, 'a new name awaits approval');
  c.register(reg('a'), 10);
  t.equal(c.get('a')!.awaitingApproval, true, 'kept across a reconnect');
  const restarted = new ClusterModel(1000, true);
  restarted.load([c.get('a')!], 20);
  restarted.register(reg('a'), 30);
  t.equal(restarted.get('a')!.awaitingApproval, true, 'kept across a scheduler restart (the stored record)');
  t.equal(c.countBy().awaitingApproval, 1, 'counted');
  const approved = c.approve('a');
  t.same(approved.map((x) => [x.type, x.node.name]), [['approved', 'a']], 'approve is a transition');
  t.notOk('awaitingApproval' in c.get('a')!, 'the flag is gone from the record');
  t.same(c.approve('a'), [], 'approving again changes nothing');
  t.same(c.approve('nope'), [], 'nor does approving an unknown node');
  c.register(reg('a'), 40);
  t.notOk(c.get('a')!.awaitingApproval, 'an approved node stays approved when it reconnects');

  const open = new ClusterModel(1000);
  open.register(reg('b'), 0);
  t.notOk('awaitingApproval' in open.get('b')!, 'without requireApproval nothing awaits approval');
  const switched = new ClusterModel(1000, true);
  switched.load([open.get('b')!], 0);
  switched.register(reg('b'), 10);
  t.notOk(switched.get('b')!.awaitingApproval, 'turning requireApproval on holds back new names only, not known ones');
});

t.test('remove forgets a node entirely; its name joins afresh', async (t) => {
  const c = new ClusterModel(1000, true);
  for (const n of ['a', 'b', 'c']) c.register(reg(n), 0);
  c.approve('b');
  c.setSchedulability('b', 'draining', 'retire');
  t.same(c.remove('b').map((x) => [x.type, x.node.name]), [['deleted', 'b']]);
  t.equal(c.get('b'), undefined, 'gone');
  t.same(c.list().map((n) => n.name), ['a', 'c'], 'out of the list');
  t.same(c.draining(), [], 'out of the draining set');
  t.same(c.sweep(5000).map((x) => x.node.name), ['a', 'c'], 'no deadline left to sweep');
  t.same(c.remove('b'), [], 'removing it again changes nothing');
  t.same(c.register(reg('b'), 6000).map((x) => x.type), ['registered'], 'registering again is a new join');
  t.equal(c.get('b')!.awaitingApproval, true, 'awaiting approval again');
  t.equal(c.get('b')!.schedulability, 'schedulable', 'with nothing of its old record');
});
