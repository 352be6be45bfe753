/**
 * The scheduler's `auth` block: who holds which role, how bearer tokens are verified, which Unix
 * accounts jobs may run as, and the revoked certificate serials. Compiled once at start (and again
 * on SIGHUP) into the pure policy (policy.ts) and the token verifier's options (authn.ts).
 */
import { z } from 'zod';
import { ROLES, type AuthPolicy, type Role } from './policy.js';

const name = z.string().min(1).max(253);
const binding = z.strictObject({ users: z.array(name).default([]), groups: z.array(name).default([]) }).prefault({});

export const authConfigSchema = z
  .strictObject({
    /**
     * The role of a call with no credential. Allowed only with grpc.insecure (development and
     * tests on loopback); '' = such calls get UNAUTHENTICATED.
     */
    anonymousRole: z.enum(['', ...ROLES]).default(''),
    /** Who holds each role. users '*' = every authenticated user (the default for role user). */
    roles: z
      .strictObject({
        admin: binding,
        operator: binding,
        user: z.strictObject({ users: z.array(name).default(['*']), groups: z.array(name).default([]) }).prefault({}),
      })
      .prefault({}),
    /** JWT bearer tokens (Authorization: Bearer ...); off while issuer is ''. */
    tokens: z
      .strictObject({
        /** The `iss` every token must carry; '' = tokens are not accepted. */
        issuer: z.string().default(''),
        /** The `aud` tokens must carry; '' = not checked. */
        audience: z.string().default(''),
        /** The issuer's JWKS (OIDC jwks_uri), fetched and cached; one of jwksUrl, jwksFile and publicKeyFiles. */
        jwksUrl: z.string().default(''),
        /** A local JWKS JSON file (re-read on SIGHUP). */
        jwksFile: z.string().default(''),
        /** PEM public keys (SPKI), each tried in turn (re-read on SIGHUP). */
        publicKeyFiles: z.array(z.string().min(1)).default([]),
        algorithms: z.array(z.string().min(1)).default(['RS256', 'ES256', 'EdDSA']),
        usernameClaim: z.string().min(1).default('sub'),
        groupsClaim: z.string().min(1).default('groups'),
        /** Clock skew tolerated on exp and nbf. */
        clockToleranceSec: z.number().int().min(0).max(600).default(30),
      })
      .prefault({}),
    /** A file of revoked certificate serials (hex, one per line, # comments), re-read on SIGHUP; '' = none. */
    revokedSerialsFile: z.string().default(''),
    /** The Unix accounts a job may run as. */
    runAs: z
      .strictObject({
        /** Each user may run jobs as the account of its own name. */
        ownAccount: z.boolean().default(true),
        /** Identity name -> further accounts. */
        users: z.record(name, z.array(name)).default({}),
        /** Group -> accounts its members may use. */
        groups: z.record(name, z.array(name)).default({}),
      })
      .prefault({}),
    /** Whether a job may run as root at all (an admin's job, on an agent with runner.allowRoot). */
    allowRoot: z.boolean().default(false),
  })
  .prefault({});

export type AuthConfig = z.infer<typeof authConfigSchema>;

/** The pure policy from the `auth` block and each queue's `groups` (null: open to every user). */
export function compileAuthPolicy(auth: AuthConfig, queues: Readonly<Record<string, { groups: readonly string[] | null }>>): AuthPolicy {
  const queueGroups: Record<string, readonly string[] | null> = {};
  for (const [q, v] of Object.entries(queues)) queueGroups[q] = v.groups;
  return {
    roles: auth.roles,
    anonymousRole: auth.anonymousRole === '' ? null : (auth.anonymousRole as Role),
    runAs: auth.runAs,
    allowRoot: auth.allowRoot,
    queueGroups,
  };
}
