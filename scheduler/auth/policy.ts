/**
 * Who may do what: roles, the permissions they grant, and the decisions the scheduler's API asks
 * for on every call. Pure: an identity (already verified by the shell, scheduler/auth/authn.ts) and
 * the compiled policy in, a decision out; no I/O, no clock.
 *
 * Three roles, as in the README's Security section:
 * - `admin`: every permission.
 * - `operator`: nodes (read, cordon, uncordon, drain), every job and every log, submitting.
 * - `user`: submitting to queues open to its groups; seeing, cancelling and reading the logs of its
 *   own jobs; reading nodes and the topology.
 * A node identity (a node certificate) holds no role: it may only speak the agent protocol, as
 * the node its certificate names (checked by the agent service, not here).
 */

export type IdentityKind = 'user' | 'node' | 'anonymous';
export type AuthMethod = 'certificate' | 'token' | 'none';

/** A caller as the shell verified it. `name` and `groups` come from a certificate or a token, never a request field. */
export interface Identity {
  kind: IdentityKind;
  name: string;
  groups: readonly string[];
  via: AuthMethod;
  /** The certificate's serial (hex, upper case) when via is certificate. */
  serial?: string;
  /** When the credential expires (ms since the epoch); undefined: unknown. */
  expiresMs?: number;
}

export const PERMISSIONS = [
  'jobs.submit',
  'jobs.submitAs',
  'jobs.read',
  'jobs.readAll',
  'jobs.cancel',
  'jobs.cancelAll',
  'logs.read',
  'logs.readAll',
  'events.watch',
  'events.watchAll',
  'nodes.read',
  'nodes.manage',
  'nodes.approve',
  'nodes.delete',
  'topology.read',
  'queues.any',
  'runAs.any',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['admin', 'operator', 'user'] as const;
export type Role = (typeof ROLES)[number];

const USER_PERMISSIONS: readonly Permission[] = ['jobs.submit', 'jobs.read', 'jobs.cancel', 'logs.read', 'events.watch', 'nodes.read', 'topology.read'];
const OPERATOR_PERMISSIONS: readonly Permission[] = [...USER_PERMISSIONS, 'jobs.readAll', 'jobs.cancelAll', 'logs.readAll', 'events.watchAll', 'nodes.manage'];

/** What each role grants. `runAs.any` (any account an agent allows) is the admin's alone. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: PERMISSIONS,
  operator: OPERATOR_PERMISSIONS,
  user: USER_PERMISSIONS,
};

/** Who holds a role: user names and group names; '*' in users means every authenticated user. */
export interface RoleBinding {
  users: readonly string[];
  groups: readonly string[];
}

/** The compiled `auth` block of the scheduler's config (scheduler/config.ts documents each key). */
export interface AuthPolicy {
  roles: Readonly<Record<Role, RoleBinding>>;
  /** The role of a caller with no credential, on a plaintext (grpc.insecure) server only; null: none (UNAUTHENTICATED). */
  anonymousRole: Role | null;
  /** Unix accounts an identity's jobs may run as, besides its own name (when runAs.ownAccount). */
  runAs: {
    ownAccount: boolean;
    users: Readonly<Record<string, readonly string[]>>;
    groups: Readonly<Record<string, readonly string[]>>;
  };
  /** Whether any job may run as root (the agent must allow it too). */
  allowRoot: boolean;
  /** Per queue: the groups that may submit to it; null: every user. */
  queueGroups: Readonly<Record<string, readonly string[] | null>>;
}

export const ANONYMOUS: Identity = { kind: 'anonymous', name: 'anonymous', groups: [], via: 'none' };

export function rolesOf(id: Identity, policy: AuthPolicy): Role[] {
  if (id.kind === 'node') return [];
  if (id.kind === 'anonymous') return policy.anonymousRole ? [policy.anonymousRole] : [];
  return ROLES.filter((r) => {
    const b = policy.roles[r];
    return b.users.includes(id.name) || b.users.includes('*') || b.groups.some((g) => id.groups.includes(g));
  });
}

export function permissionsOf(id: Identity, policy: AuthPolicy): Set<Permission> {
  const out = new Set<Permission>();
  for (const r of rolesOf(id, policy)) for (const p of ROLE_PERMISSIONS[r]) out.add(p);
  return out;
}

export type Decision = { allowed: true } | { allowed: false; permission: Permission; reason: string };

const ALLOWED: Decision = { allowed: true };

function who(id: Identity): string {
  return id.kind === 'anonymous' ? 'an unauthenticated caller' : `${id.kind} ${JSON.stringify(id.name)}`;
}

function deny(id: Identity, permission: Permission, what: string): Decision {
  return { allowed: false, permission, reason: `${who(id)} may not ${what}: it lacks the permission ${permission}` };
}

/** A permission that needs no resource: nodes.manage, nodes.read, topology.read, ... */
export function authorize(id: Identity, policy: AuthPolicy, permission: Permission, what: string): Decision {
  return permissionsOf(id, policy).has(permission) ? ALLOWED : deny(id, permission, what);
}

export type JobVerb = 'read' | 'cancel' | 'logs' | 'watch';
const JOB_PERMISSIONS: Readonly<Record<JobVerb, readonly [Permission, Permission]>> = {
  read: ['jobs.read', 'jobs.readAll'],
  cancel: ['jobs.cancel', 'jobs.cancelAll'],
  logs: ['logs.read', 'logs.readAll'],
  watch: ['events.watch', 'events.watchAll'],
};
const JOB_WORDS: Readonly<Record<JobVerb, string>> = { read: 'see', cancel: 'cancel', logs: 'read the logs of', watch: 'watch the events of' };

/** Acting on one job: the own-job permission when the caller owns it, else the all-jobs one. */
export function authorizeJob(id: Identity, policy: AuthPolicy, verb: JobVerb, job: { id: string; owner: string }): Decision {
  const [own, all] = JOB_PERMISSIONS[verb];
  const perms = permissionsOf(id, policy);
  if (perms.has(all)) return ALLOWED;
  if (perms.has(own) && id.kind === 'user' && job.owner === id.name) return ALLOWED;
  return deny(id, perms.has(own) ? all : own, `${JOB_WORDS[verb]} job ${job.id} of ${JSON.stringify(job.owner)}`);
}

/** Whether the caller sees every job (else only its own) in lists and event streams. */
export function seesAllJobs(id: Identity, policy: AuthPolicy, verb: 'read' | 'watch'): boolean {
  return permissionsOf(id, policy).has(JOB_PERMISSIONS[verb][1]);
}

/**
 * Submitting: the owner is the caller's own name unless it names another (jobs.submitAs); the
 * queue must be open to one of the caller's groups (or the caller holds queues.any).
 */
export function authorizeSubmit(id: Identity, policy: AuthPolicy, req: { owner: string; queue: string }): Decision & { owner?: string } {
  const perms = permissionsOf(id, policy);
  if (!perms.has('jobs.submit')) return deny(id, 'jobs.submit', 'submit jobs');
  const owner = req.owner || id.name;
  if (owner !== id.name && !perms.has('jobs.submitAs')) return deny(id, 'jobs.submitAs', `submit a job owned by ${JSON.stringify(owner)}`);
  const groups = policy.queueGroups[req.queue];
  if (groups && !perms.has('queues.any') && !groups.some((g) => id.groups.includes(g))) {
    return { allowed: false, permission: 'queues.any', reason: `${who(id)} may not submit to queue ${req.queue}: it is open to the groups ${groups.join(', ')} only` };
  }
  return { allowed: true, owner };
}

/** The Unix accounts an identity's jobs may run as (its own name first when runAs.ownAccount). */
export function runAsAccounts(id: Identity, policy: AuthPolicy): string[] {
  const out = new Set<string>();
  if (id.kind !== 'user') return [];
  if (policy.runAs.ownAccount) out.add(id.name);
  for (const a of policy.runAs.users[id.name] ?? []) out.add(a);
  for (const g of id.groups) for (const a of policy.runAs.groups[g] ?? []) out.add(a);
  return [...out];
}

export type RunAsDecision = { allowed: true; account: string } | { allowed: false; permission: Permission; reason: string };

/**
 * The account a job runs as: the spec's runAs when the owner may use it, else the owner's first
 * account. Root only when the policy allows root and the caller holds runAs.any (an admin).
 * `owner` is the identity the job runs for (the caller, or the one named under submit-as).
 */
export function resolveRunAs(caller: Identity, owner: Identity, policy: AuthPolicy, requested: string | undefined): RunAsDecision {
  const accounts = runAsAccounts(owner, policy);
  const any = permissionsOf(caller, policy).has('runAs.any');
  // A plaintext development server's anonymous caller: no account is known, so a spec without
  // runAs keeps the old meaning, the agent's own account ('': the agent checks it like any other).
  if (owner.kind === 'anonymous' && requested === undefined) return { allowed: true, account: '' };
  const account = requested ?? accounts[0];
  if (account === undefined) return { allowed: false, permission: 'runAs.any', reason: `no Unix account is mapped to ${who(owner)} (auth.runAs), and the spec names none` };
  if (account === 'root' || account === '0') {
    if (!policy.allowRoot) return { allowed: false, permission: 'runAs.any', reason: 'runAs root is refused: auth.allowRoot is false on the scheduler' };
    if (!any) return { allowed: false, permission: 'runAs.any', reason: `${who(caller)} may not run jobs as root: it lacks the permission runAs.any` };
    return { allowed: true, account: 'root' };
  }
  if (accounts.includes(account) || any) return { allowed: true, account };
  return { allowed: false, permission: 'runAs.any', reason: `${who(caller)} may not run jobs as ${JSON.stringify(account)}; its accounts are ${accounts.length ? accounts.join(', ') : '(none)'} (auth.runAs)` };
}
