/** The lease machine, case by case (scheduler/ha/lease.ts's table), and its options. */
import t from 'tap';
import { initialLease, leaseOptions, mayLead, leaseStep as step, type LeaseState } from '../../../scheduler/ha/index.js';

const o = leaseOptions(3000); // renew every 1000, retry every 500, margin 500
const leader = (over: Partial<Extract<LeaseState, { role: 'leader' }>> = {}): LeaseState => ({
  role: 'leader',
  term: 7,
  revision: 9,
  validUntilMs: 12_500,
  nextRenewMs: 11_000,
  inFlight: false,
  ...over,
});

t.test('options: defaults from the TTL, and bad ones named', async (t) => {
  t.same(o, { ttlMs: 3000, renewIntervalMs: 1000, retryMs: 500, marginMs: 500 });
  t.throws(() => leaseOptions(100), /ttlMs: must be at least 300/);
  t.throws(() => leaseOptions(3000, { marginMs: 3000 }), /marginMs/);
  t.throws(() => leaseOptions(3000, { renewIntervalMs: 2600 }), /renewIntervalMs: must be above 0 and below ttlMs - marginMs = 2500/);
  t.throws(() => leaseOptions(3000, { retryMs: 0 }), /retryMs/);
});

t.test('a standby tries to take the lease when its time comes, one request at a time', async (t) => {
  const s0 = initialLease(1000);
  const a = step(s0, { type: 'tick', nowMs: 1000 }, o);
  t.same(a.commands, [{ kind: 'create' }]);
  t.same(step(a.state, { type: 'tick', nowMs: 1200 }, o).commands, [], 'no second create while one is in flight');
  const held = step(a.state, { type: 'create-failed', reason: 'held', nowMs: 1100 }, o);
  t.same(held.state, { role: 'standby', inFlight: false, nextTryMs: 1600 }, 'held: tries again after retryMs');
  t.same(step(held.state, { type: 'tick', nowMs: 1500 }, o).commands, [], 'not before');
  t.same(step(held.state, { type: 'tick', nowMs: 1600 }, o).commands, [{ kind: 'create' }]);
  t.same(step(a.state, { type: 'create-failed', reason: 'error', nowMs: 1100 }, o).state, { role: 'standby', inFlight: false, nextTryMs: 1600 }, 'no answer: the same');
});

t.test('created: leader with term = the revision, valid from when the request was sent', async (t) => {
  const a = step({ role: 'standby', inFlight: true, nextTryMs: 0 }, { type: 'created', revision: 42, sentAtMs: 10_000, nowMs: 10_050 }, o);
  t.same(a.commands, [{ kind: 'lead', term: 42 }]);
  t.same(a.state, { role: 'leader', term: 42, revision: 42, validUntilMs: 12_500, nextRenewMs: 11_000, inFlight: false });
  t.ok(mayLead(a.state, 12_499) && !mayLead(a.state, 12_500), 'may lead until sent + ttl - margin, not after');
  const late = step({ role: 'standby', inFlight: true, nextTryMs: 0 }, { type: 'created', revision: 43, sentAtMs: 10_000, nowMs: 12_600 }, o);
  t.same(late.commands, [], 'an answer that came after the lease it grants ran out is no lease');
  t.equal(late.state.role, 'standby');
});

t.test('a leader renews on time with the revision it last wrote', async (t) => {
  t.same(step(leader(), { type: 'tick', nowMs: 10_900 }, o).commands, [], 'not before nextRenewMs');
  const r = step(leader(), { type: 'tick', nowMs: 11_000 }, o);
  t.same(r.commands, [{ kind: 'renew', revision: 9 }]);
  t.same(step(r.state, { type: 'tick', nowMs: 11_100 }, o).commands, [], 'one renewal in flight');
  const ok = step(r.state, { type: 'renewed', revision: 10, sentAtMs: 11_000, nowMs: 11_020 }, o);
  t.same(ok.state, { role: 'leader', term: 7, revision: 10, validUntilMs: 13_500, nextRenewMs: 12_000, inFlight: false }, 'the term stays, the revision moves, the deadline extends');
  t.same(ok.commands, []);
});

t.test('a conflict deposes at once; no answer does not, but the deadline does', async (t) => {
  const inflight = leader({ inFlight: true });
  const c = step(inflight, { type: 'renew-failed', reason: 'conflict', nowMs: 11_100 }, o);
  t.same(c.commands, [{ kind: 'step-down', term: 7, cause: 'conflict' }]);
  t.same(c.state, { role: 'standby', inFlight: false, nextTryMs: 11_600 });
  const e = step(inflight, { type: 'renew-failed', reason: 'error', nowMs: 11_100 }, o);
  t.same(e.commands, [], 'no answer: still leader');
  t.same(e.state, leader({ nextRenewMs: 11_600 }), 'and tries again after retryMs');
  const dl = step(e.state, { type: 'tick', nowMs: 12_500 }, o);
  t.same(dl.commands, [{ kind: 'step-down', term: 7, cause: 'renew-deadline' }], 'the renew deadline deposes it, whatever else');
  t.equal(dl.state.role, 'standby');
  const lateOk = step(leader({ inFlight: true }), { type: 'renewed', revision: 10, sentAtMs: 11_000, nowMs: 12_600 }, o);
  t.same(lateOk.commands, [{ kind: 'step-down', term: 7, cause: 'renew-deadline' }], 'a renewal answered after the deadline does not revive it');
});

t.test('resign; answers that reach a standby', async (t) => {
  t.same(step(leader(), { type: 'resign', nowMs: 11_000 }, o).commands, [{ kind: 'step-down', term: 7, cause: 'resigned' }]);
  const s = initialLease(0);
  t.equal(step(s, { type: 'resign', nowMs: 1 }, o).state, s, 'a standby resigning: nothing');
  t.equal(step(s, { type: 'renewed', revision: 3, sentAtMs: 0, nowMs: 1 }, o).state, s, "a deposed leader's renewal answer: ignored");
  t.equal(step(s, { type: 'renew-failed', reason: 'conflict', nowMs: 1 }, o).state, s);
  t.notOk(mayLead(s, 0), 'a standby may not lead');
});
