/** The pure policy, table by table: every role × permission, own and others' jobs, submit-as, queue groups, runAs. */
import t from 'tap';
import { z } from 'zod';
import {
  ANONYMOUS,
  PERMISSIONS,
  authConfigSchema,
  authorize,
  authorizeJob,
  authorizeSubmit,
  compileAuthPolicy,
  permissionsOf,
  resolveRunAs,
  rolesOf,
  runAsAccounts,
  seesAllJobs,
  type AuthPolicy,
  type Identity,
  type Permission,
} from '../../../scheduler/auth/index.js';

type AuthInput = z.input<typeof authConfigSchema>;

function policy(auth: AuthInput = {}, queues: Record<string, { groups: string[] | null }> = { default: { groups: null } }): AuthPolicy {
  return compileAuthPolicy(authConfigSchema.parse(auth), queues);
}

const user = (name: string, groups: string[] = []): Identity => ({ kind: 'user', name, groups, via: 'certificate' });
const node = (name: string): Identity => ({ kind: 'node', name, groups: [], via: 'certificate' });

const P = policy({ roles: { admin: { users: ['root-admin'] }, operator: { groups: ['sre'] } } });
const ADMIN = user('root-admin');
const OPERATOR = user('olga', ['sre']);
const USER = user('alice', ['ml']);

/** Written out, not derived from ROLE_PERMISSIONS: a change to what a role grants must change this table too. */
const MATRIX: Record<Permission, [admin: boolean, operator: boolean, user: boolean]> = {
  'jobs.submit': [true, true, true],
  'jobs.submitAs': [true, false, false],
  'jobs.read': [true, true, true],
  'jobs.readAll': [true, true, false],
  'jobs.cancel': [true, true, true],
  'jobs.cancelAll': [true, true, false],
  'logs.read': [true, true, true],
  'logs.readAll': [true, true, false],
  'events.watch': [true, true, true],
  'events.watchAll': [true, true, false],
  'nodes.read': [true, true, true],
  'nodes.manage': [true, true, false],
  'nodes.approve': [true, false, false],
  'nodes.delete': [true, false, false],
  'topology.read': [true, true, true],
  'queues.any': [true, false, false],
  'runAs.any': [true, false, false],
};

t.test('every role × permission', async (t) => {
  t.same(Object.keys(MATRIX).sort(), [...PERMISSIONS].sort(), 'the table covers every permission');
  t.same([rolesOf(ADMIN, P), rolesOf(OPERATOR, P), rolesOf(USER, P)], [['admin', 'user'], ['operator', 'user'], ['user']], 'roles by user name, by group, and users "*"');
  for (const perm of PERMISSIONS) {
    const [a, o, u] = MATRIX[perm];
    t.equal(authorize(ADMIN, P, perm, 'x').allowed, a, `admin ${perm}`);
    t.equal(authorize(OPERATOR, P, perm, 'x').allowed, o, `operator ${perm}`);
    t.equal(authorize(USER, P, perm, 'x').allowed, u, `user ${perm}`);
    t.equal(authorize(node('gpu-1'), P, perm, 'x').allowed, false, `a node holds no ${perm}`);
    t.equal(authorize(ANONYMOUS, P, perm, 'x').allowed, false, `anonymous without anonymousRole holds no ${perm}`);
  }
  const denied = authorize(USER, P, 'nodes.manage', 'cordon nodes');
  t.same(denied, { allowed: false, permission: 'nodes.manage', reason: 'user "alice" may not cordon nodes: it lacks the permission nodes.manage' }, 'a refusal names who, what and the permission');
});

t.test('who holds a role: names, groups, "*", and the anonymous role', async (t) => {
  const closed = policy({ roles: { user: { users: [] } } });
  t.same(permissionsOf(USER, closed), new Set(), 'with users "*" removed, an authenticated user holds nothing');
  const byGroup = policy({ roles: { user: { users: [], groups: ['ml'] } } });
  t.ok(authorize(USER, byGroup, 'jobs.submit', 'x').allowed, 'a group binding grants the role');
  t.notOk(authorize(user('bob', ['hr']), byGroup, 'jobs.submit', 'x').allowed, 'another group does not');
  for (const role of ['admin', 'operator', 'user'] as const) {
    const anon = policy({ anonymousRole: role });
    t.same(rolesOf(ANONYMOUS, anon), [role], `anonymousRole ${role}`);
    t.equal(authorize(ANONYMOUS, anon, 'nodes.approve', 'x').allowed, MATRIX['nodes.approve'][['admin', 'operator', 'user'].indexOf(role)], `anonymous ${role}: nodes.approve as the role`);
  }
  t.same(rolesOf(node('gpu-1'), policy({ roles: { admin: { users: ['gpu-1'] } } })), [], 'a node certificate never holds a role, even under a user name');
});

t.test('own job vs another user\'s job, per verb', async (t) => {
  const mine = { id: 'a.1', owner: 'alice' };
  const theirs = { id: 'b.1', owner: 'bob' };
  const cases: Array<[string, Identity, 'read' | 'cancel' | 'logs' | 'watch', { id: string; owner: string }, boolean, string?]> = [
    ['user reads own', USER, 'read', mine, true],
    ['user reads other', USER, 'read', theirs, false, 'jobs.readAll'],
    ['user cancels own', USER, 'cancel', mine, true],
    ['user cancels other', USER, 'cancel', theirs, false, 'jobs.cancelAll'],
    ['user reads own logs', USER, 'logs', mine, true],
    ['user reads other logs', USER, 'logs', theirs, false, 'logs.readAll'],
    ['user watches own', USER, 'watch', mine, true],
    ['user watches other', USER, 'watch', theirs, false, 'events.watchAll'],
    ['operator cancels other', OPERATOR, 'cancel', theirs, true],
    ['operator reads other logs', OPERATOR, 'logs', theirs, true],
    ['admin cancels other', ADMIN, 'cancel', theirs, true],
    ['node reads', node('alice'), 'read', mine, false, 'jobs.read'],
    ['anonymous user-role reads a job of "anonymous"', ANONYMOUS, 'read', { id: 'x', owner: 'anonymous' }, false, 'jobs.readAll'],
  ];
  const anonUser = policy({ anonymousRole: 'user' });
  for (const [name, id, verb, job, ok, perm] of cases) {
    const d = authorizeJob(id, id === ANONYMOUS ? anonUser : P, verb, job);
    t.equal(d.allowed, ok, name);
    if (!d.allowed) {
      t.equal(d.permission, perm, `${name}: names ${perm}`);
      t.match(d.reason, job.id, `${name}: names the job`);
    }
  }
  t.same([seesAllJobs(USER, P, 'read'), seesAllJobs(OPERATOR, P, 'read'), seesAllJobs(USER, P, 'watch'), seesAllJobs(OPERATOR, P, 'watch')], [false, true, false, true]);
});

t.test('submitting: owner, submit-as, queue groups', async (t) => {
  const Q = policy({ roles: { admin: { users: ['root-admin'] }, operator: { groups: ['sre'] } } }, { default: { groups: null }, research: { groups: ['ml'] } });
  t.same(authorizeSubmit(USER, Q, { owner: '', queue: 'default' }), { allowed: true, owner: 'alice' }, "an empty owner is the caller's name");
  t.same(authorizeSubmit(USER, Q, { owner: 'alice', queue: 'default' }), { allowed: true, owner: 'alice' }, 'naming oneself is fine');
  t.match(authorizeSubmit(USER, Q, { owner: 'bob', queue: 'default' }), { allowed: false, permission: 'jobs.submitAs', reason: /submit a job owned by "bob"/ }, 'a user may not submit as another');
  t.match(authorizeSubmit(OPERATOR, Q, { owner: 'bob', queue: 'default' }), { allowed: false, permission: 'jobs.submitAs' }, 'nor an operator');
  t.same(authorizeSubmit(ADMIN, Q, { owner: 'bob', queue: 'default' }), { allowed: true, owner: 'bob' }, 'an admin may');
  t.same(authorizeSubmit(USER, Q, { owner: '', queue: 'research' }), { allowed: true, owner: 'alice' }, 'a queue open to the caller\'s group');
  t.match(authorizeSubmit(user('bob', ['hr']), Q, { owner: '', queue: 'research' }), { allowed: false, permission: 'queues.any', reason: /open to the groups ml only/ }, 'a queue closed to the caller\'s groups');
  t.match(authorizeSubmit(OPERATOR, Q, { owner: '', queue: 'research' }), { allowed: false, permission: 'queues.any' }, 'operators are not exempt');
  t.same(authorizeSubmit(ADMIN, Q, { owner: '', queue: 'research' }), { allowed: true, owner: 'root-admin' }, 'queues.any is');
  t.match(authorizeSubmit(node('gpu-1'), Q, { owner: '', queue: 'default' }), { allowed: false, permission: 'jobs.submit' }, 'a node submits nothing');
});

t.test('runAs: own account, mapped accounts, root', async (t) => {
  const R = policy({
    roles: { admin: { users: ['root-admin'] } },
    runAs: { users: { alice: ['ml-shared'] }, groups: { ml: ['mlsvc'] } },
  });
  t.same(runAsAccounts(USER, R), ['alice', 'ml-shared', 'mlsvc'], 'own name first, then by name, then by group');
  t.same(runAsAccounts(node('gpu-1'), R), [], 'a node runs nothing');
  const cases: Array<[string, Identity, Identity, string | undefined, AuthPolicy, string | RegExp]> = [
    ['no runAs: the own account', USER, USER, undefined, R, 'alice'],
    ['the own account named', USER, USER, 'alice', R, 'alice'],
    ['a mapped account by name', USER, USER, 'ml-shared', R, 'ml-shared'],
    ['a mapped account by group', USER, USER, 'mlsvc', R, 'mlsvc'],
    ['another account', USER, USER, 'bob', R, /may not run jobs as "bob"; its accounts are alice, ml-shared, mlsvc/],
    ['root, allowRoot off', ADMIN, ADMIN, 'root', R, /auth.allowRoot is false/],
    ['root, allowRoot on, a user', USER, USER, 'root', policy({ allowRoot: true }), /may not run jobs as root: it lacks the permission runAs.any/],
    ['uid 0 is root', USER, USER, '0', policy({ allowRoot: true }), /may not run jobs as root/],
    ['root, allowRoot on, an admin', ADMIN, ADMIN, 'root', policy({ allowRoot: true, roles: { admin: { users: ['root-admin'] } } }), 'root'],
    ['an admin: any account', ADMIN, ADMIN, 'svc-x', R, 'svc-x'],
    ['an admin for bob: bob\'s account', ADMIN, user('bob'), undefined, R, 'bob'],
    ['ownAccount off, nothing mapped', USER, USER, undefined, policy({ runAs: { ownAccount: false } }), /no Unix account is mapped to user "alice"/],
    ['anonymous without runAs: the agent\'s own account', ANONYMOUS, ANONYMOUS, undefined, policy({ anonymousRole: 'user' }), ''],
    ['anonymous user-role naming an account', ANONYMOUS, ANONYMOUS, 'nobody', policy({ anonymousRole: 'user' }), /may not run jobs as "nobody"/],
    ['anonymous admin naming an account', ANONYMOUS, ANONYMOUS, 'nobody', policy({ anonymousRole: 'admin' }), 'nobody'],
  ];
  for (const [name, caller, owner, requested, pol, want] of cases) {
    const d = resolveRunAs(caller, owner, pol, requested);
    if (typeof want === 'string') t.same(d, { allowed: true, account: want }, name);
    else t.match(d, { allowed: false, permission: 'runAs.any', reason: want }, name);
  }
});
