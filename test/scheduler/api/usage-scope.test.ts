/** GetUsage's scope (who sees whose usage) and the window's checks, table by table (api/usage-service.ts). */
import t from 'tap';
import { authConfigSchema, compileAuthPolicy, type Identity } from '../../../scheduler/auth/index.js';
import { usageScope, usageWindow } from '../../../scheduler/api/usage-service.js';
import { PermissionDeniedError } from '../../../shared/errors/index.js';

const P = compileAuthPolicy(authConfigSchema.parse({ roles: { admin: { users: ['root-admin'] }, operator: { groups: ['sre'] } } }), { default: { groups: null } });
const user = (name: string, groups: string[] = []): Identity => ({ kind: 'user', name, groups, via: 'certificate' });

t.test('a user sees their own usage; an operator or admin sees everyone’s, or one user’s', async (t) => {
  const cases: Array<[Identity, string, string | undefined | 'denied']> = [
    [user('alice', ['ml']), '', 'alice'],
    [user('alice', ['ml']), 'alice', 'alice'],
    [user('alice', ['ml']), 'bob', 'denied'],
    [user('olga', ['sre']), '', undefined],
    [user('olga', ['sre']), 'bob', 'bob'],
    [user('root-admin'), '', undefined],
  ];
  for (const [id, asked, want] of cases) {
    const what = `${id.name} asking for ${JSON.stringify(asked)}`;
    if (want === 'denied') {
      t.throws(() => usageScope(id, P, asked), PermissionDeniedError, `${what}: PERMISSION_DENIED`);
      t.throws(() => usageScope(id, P, asked), /may see only its own usage; another user's needs the permission jobs.readAll/);
    } else {
      t.equal(usageScope(id, P, asked), want, `${what}: ${want ?? 'everyone'}`);
    }
  }
});

t.test('the window: until 0 is now; bad bounds name the field', async (t) => {
  t.same(usageWindow(1000, 0, 5000), { sinceMs: 1000, untilMs: 5000 });
  t.same(usageWindow(1000, 2000, 5000), { sinceMs: 1000, untilMs: 2000 });
  t.throws(() => usageWindow(-1, 0, 5000), /since_unix_ms: must be a unix time in ms/);
  t.throws(() => usageWindow(1_000_000_000_000_000, 0, 5000), /since_unix_ms/, 'µs for ms');
  t.throws(() => usageWindow(3000, 2000, 5000), /until_unix_ms: must be after since_unix_ms/);
  t.throws(() => usageWindow(6000, 0, 5000), /until_unix_ms: must be after/, 'a window starting after now');
});
