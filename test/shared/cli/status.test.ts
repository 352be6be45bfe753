/** `gantry status`'s forms (pure): the leader line, the table, the lag, JSON, and the leader among answers. */
import t from 'tap';
import { lagOf, leaderOf, statusJson, statusText, type MemberView, type StatusRow } from '../../../shared/cli/status.js';

const NOW = Date.parse('2026-12-07T05:00:00Z');
const member = (o: Partial<MemberView>): MemberView => ({
  schedulerId: 's',
  address: '10.0.0.1:7070',
  role: 'standby',
  term: 0,
  roleSinceUnixMs: NOW - 80_000,
  appliedSeq: 0,
  headSeq: 0,
  leaderId: '',
  leaderAddress: '',
  ...o,
});

t.test('a leader and a standby', async (t) => {
  const leader = member({ schedulerId: 'ctl-1', address: '10.0.0.1:7070', role: 'leader', term: 42, appliedSeq: 120, headSeq: 120, roleSinceUnixMs: NOW - 600_000 });
  const standby = member({ schedulerId: 'ctl-2', address: '10.0.0.2:7070', appliedSeq: 100, headSeq: 110, leaderId: 'ctl-1', leaderAddress: '10.0.0.1:7070' });
  const rows: StatusRow[] = [
    { asked: '10.0.0.1:7070', member: leader },
    { asked: '10.0.0.2:7070', member: standby },
    { asked: '10.0.0.3:7070', error: 'UNAVAILABLE: connection refused' },
  ];
  t.equal(leaderOf(rows)?.schedulerId, 'ctl-1');
  t.equal(lagOf(standby, leader), 20, "the standby's lag counts to the leader's head, past the head it read");
  t.equal(lagOf(leader, leader), 0, 'the leader lags nothing');
  const text = statusText(rows, NOW);
  t.match(text, /^leader: ctl-1 at 10\.0\.0\.1:7070, term 42, since 2026-12-07T04:50:00\.000Z \(10m ago\)$/m);
  t.match(text, /^ADDRESS\s+ID\s+ROLE\s+TERM\s+SINCE\s+APPLIED\s+LAG$/m);
  t.match(text, /^10\.0\.0\.2:7070\s+ctl-2\s+standby\s+-\s+80s ago\s+100\s+20$/m, 'the standby row');
  t.match(text, /^10\.0\.0\.3:7070\s+-\s+error: UNAVAILABLE: connection refused/m, 'the error row');
  const json = statusJson(rows) as { leader: { term: number }; schedulers: Array<{ lagEntries?: number; error?: string }> };
  t.equal(json.leader.term, 42);
  t.equal(json.schedulers[1]!.lagEntries, 20);
  t.ok(json.schedulers[2]!.error);
});

t.test('no leader; two claiming it; a single scheduler', async (t) => {
  const rows: StatusRow[] = [{ asked: 'a:1', member: member({ leaderAddress: 'c:1' }) }];
  t.equal(leaderOf(rows), undefined);
  t.match(statusText(rows, NOW), /^leader: none answers \(the lease names c:1, which was not asked or did not answer\)$/m);
  t.same(statusJson(rows).leader, null);
  const two: StatusRow[] = [
    { asked: 'a:1', member: member({ schedulerId: 'old', role: 'leader', term: 5 }) },
    { asked: 'b:1', member: member({ schedulerId: 'new', role: 'leader', term: 9 }) },
  ];
  t.equal(leaderOf(two)?.schedulerId, 'new', 'the higher term is the leader (the other has not noticed yet)');
  const single: StatusRow[] = [{ asked: 'x:1', member: member({ schedulerId: 'one', role: 'single' }) }];
  t.match(statusText(single, NOW), /a single scheduler, no ha\.enabled/);
  t.match(statusText(single, NOW), /^x:1\s+one\s+single\s+-\s+80s ago\s+-\s+-$/m);
});

t.test('a scheduler id with a control character is printed escaped', async (t) => {
  const rows: StatusRow[] = [{ asked: 'a:1', member: member({ schedulerId: 'evil\x1b[2J', role: 'leader', term: 1 }) }];
  t.notMatch(statusText(rows, NOW), /\x1b/);
});
