/** `gantry whoami`'s text and JSON forms, and `gantry config get-contexts`'s table (pure functions). */
import t from 'tap';
import { whoamiJson, whoamiText, type WhoAmIView } from '../../../shared/cli/whoami.js';
import { contextsTable } from '../../../shared/cli/contexts.js';
import { parseCliConfig } from '../../../shared/cli/connection.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

const ALICE: WhoAmIView = {
  name: 'alice',
  kind: 'user',
  authenticatedBy: 'certificate',
  groups: ['ml', 'research'],
  roles: ['admin', 'user'],
  permissions: ['jobs.submit', 'nodes.manage'],
  runAs: ['alice', 'svc-ml'],
  expiresUnixMs: Date.parse('2026-03-31T12:00:00Z'),
  scheduler: 'sched-b:7070',
};

t.test('text: one field a line', async (t) => {
  t.equal(
    whoamiText(ALICE, NOW),
    [
      'name          alice',
      'kind          user',
      'authenticated certificate',
      'groups        ml, research',
      'roles         admin, user',
      'permissions   jobs.submit, nodes.manage',
      'run as        alice, svc-ml',
      'expires       2026-03-31T12:00:00.000Z (in 30d)',
      'scheduler     sched-b:7070',
      '',
    ].join('\n'),
  );
});

t.test('text: an anonymous caller, nothing to list, no expiry', async (t) => {
  const anon: WhoAmIView = { name: '', kind: 'anonymous', authenticatedBy: 'none', groups: [], roles: ['admin'], permissions: [], runAs: [''], expiresUnixMs: 0, scheduler: '127.0.0.1:7070' };
  const text = whoamiText(anon, NOW);
  t.match(text, /^name {10}-$/m);
  t.match(text, /^groups {8}-$/m);
  t.match(text, /^run as {8}\(the agent's account\)$/m, "runAs '' is the agent's own account");
  t.match(text, /^expires {7}-$/m);
});

t.test('text: an expired credential says how long ago', async (t) => {
  t.match(whoamiText({ ...ALICE, expiresUnixMs: NOW - 3 * 3600_000 }, NOW), /^expires {7}2026-03-01T09:00:00\.000Z \(3h ago\)$/m);
});

t.test('JSON: stable keys, ISO expiry or null', async (t) => {
  t.same(whoamiJson(ALICE), {
    name: 'alice',
    kind: 'user',
    authenticatedBy: 'certificate',
    groups: ['ml', 'research'],
    roles: ['admin', 'user'],
    permissions: ['jobs.submit', 'nodes.manage'],
    runAs: ['alice', 'svc-ml'],
    expires: '2026-03-31T12:00:00.000Z',
    scheduler: 'sched-b:7070',
  });
  t.equal(whoamiJson({ ...ALICE, expiresUnixMs: 0 }).expires, null);
});

t.test('get-contexts: the current one starred, schedulers, the credential kind', async (t) => {
  const config = parseCliConfig(
    'current-context: dev\ncontexts:\n  prod: {schedulers: [a:1, b:2], cert: c, key: k}\n  dev: {schedulers: [127.0.0.1:7070], insecure: true}\n  sso: {tokenFile: t}\n',
    '/f.yaml',
  );
  t.equal(
    contextsTable(config),
    ['CURRENT  NAME  SCHEDULERS      CREDENTIAL', '         prod  a:1,b:2         certificate', '*        dev   127.0.0.1:7070  plaintext', '         sso   -               token', ''].join('\n'),
  );
});
