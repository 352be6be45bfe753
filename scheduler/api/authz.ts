/**
 * Authorization of the user API: one table from each SchedulerService RPC to the permission it
 * needs, applied to every handler before it runs (guardSchedulerService), and the per-job checks
 * the handlers ask for (own job or every job, submitting, runAs). Every call is authenticated
 * first (scheduler/auth/authn.ts); a node certificate gets WhoAmI and nothing else here.
 *
 * Every state-changing call that succeeds, every refusal and every failed state change is audited
 * (scheduler/auth/audit.ts). A streaming call (WatchEvents) ends with UNAUTHENTICATED when its
 * credential expires or its certificate is revoked while it is open.
 *
 * Every authenticated call then takes a token from its caller's bucket (rate-limit.ts: per verified
 * identity, per client address for the anonymous caller); an empty bucket answers RESOURCE_EXHAUSTED
 * with `retry-after-ms` in the trailing metadata, counted in gantry_scheduler_rate_limited_total.
 */
import { status, type Metadata, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type ServiceError } from '@grpc/grpc-js';
import type { Clock } from '../../shared/clock/index.js';
import { InternalError, PermissionDeniedError, ResourceExhaustedError, UnauthenticatedError, isGantryError } from '../../shared/errors/index.js';
import type { JobSpec } from '../../shared/jobspec/index.js';
import type { Logger } from '../../shared/log/index.js';
import type { SchedulerServiceHandlers } from '../../shared/proto/index.js';
import {
  ANONYMOUS,
  authorize,
  authorizeJob,
  authorizeSubmit,
  resolveRunAs,
  actorOf,
  normalizeSerial,
  presentedCredential,
  unverifiedActor,
  type AuthCall,
  type Auditor,
  type AuthPolicy,
  type CallAuthenticator,
  type Identity,
  type JobVerb,
  type Permission,
} from '../auth/index.js';
import type { Submitter } from '../jobs/index.js';
import { toGrpcError } from './status-table.js';
import { peerAddress, type RateLimiter } from './rate-limit.js';

/** The RPC names of SchedulerService (the generated handlers' keys, without grpc-js's index signature). */
export type SchedulerRpc = keyof { [K in keyof SchedulerServiceHandlers as string extends K ? never : number extends K ? never : K]: true };

interface Rule {
  /** Checked before the handler runs; null: any authenticated caller (node identities included). */
  permission: Permission | null;
  /** What the permission lets one do, for the refusal's text. */
  what: string;
  /** A state change: audited when it succeeds and when it fails. */
  changes: boolean;
  /** What the call acts on (audit records). */
  target: (req: Record<string, unknown>, res?: Record<string, unknown> | null) => string;
}

const none = (): string => '';
const byName = (req: Record<string, unknown>): string => String(req.name ?? '');
const byId = (req: Record<string, unknown>): string => String(req.id ?? '');

/**
 * The one table: RPC → permission. Per-job RPCs check the own-job permission here and the
 * handler adds the job's owner (authorizeJob): a user's own job, or every job with the *All one.
 */
export const RPC_RULES: Readonly<Record<SchedulerRpc, Rule>> = {
  ListNodes: { permission: 'nodes.read', what: 'list nodes', changes: false, target: none },
  GetNode: { permission: 'nodes.read', what: 'read nodes', changes: false, target: byName },
  GetTopology: { permission: 'topology.read', what: 'read the topology', changes: false, target: none },
  CordonNode: { permission: 'nodes.manage', what: 'cordon nodes', changes: true, target: byName },
  UncordonNode: { permission: 'nodes.manage', what: 'uncordon nodes', changes: true, target: byName },
  DrainNode: { permission: 'nodes.manage', what: 'drain nodes', changes: true, target: byName },
  ApproveNode: { permission: 'nodes.approve', what: 'approve nodes', changes: true, target: byName },
  DeleteNode: { permission: 'nodes.delete', what: 'delete nodes', changes: true, target: byName },
  SubmitJob: { permission: 'jobs.submit', what: 'submit jobs', changes: true, target: (_req, res) => String(res?.id ?? '') },
  GetJob: { permission: 'jobs.read', what: 'see jobs', changes: false, target: byId },
  ExplainJob: { permission: 'jobs.read', what: 'see jobs', changes: false, target: byId },
  ListJobs: { permission: 'jobs.read', what: 'list jobs', changes: false, target: none },
  CancelJob: { permission: 'jobs.cancel', what: 'cancel jobs', changes: true, target: byId },
  // Releasing a held job: whoever may cancel it (its owner, or jobs.cancelAll).
  ReleaseJob: { permission: 'jobs.cancel', what: 'release jobs', changes: true, target: byId },
  ReadLogs: { permission: 'logs.read', what: 'read logs', changes: false, target: (req) => String(req.jobId ?? '') },
  WatchEvents: { permission: 'events.watch', what: 'watch events', changes: false, target: (req) => String(req.jobId || req.node || '') },
  WhoAmI: { permission: null, what: 'ask who it is', changes: false, target: none },
  // The control plane (high availability): any authenticated caller, as a standby answers it too.
  GetControlPlane: { permission: null, what: 'read the control plane', changes: false, target: none },
  // Usage accounting (issue 23): one's own usage with jobs.read, everyone's with jobs.readAll (the handler checks); the cluster's with nodes.read.
  GetUsage: { permission: 'jobs.read', what: 'see usage', changes: false, target: (req) => String(req.user ?? '') },
  GetClusterUsage: { permission: 'nodes.read', what: 'see the cluster usage', changes: false, target: none },
};

/** Who is calling, set by the guard before the handler runs. */
export interface Caller {
  identity: Identity;
  peer: string;
}

const callers = new WeakMap<object, Caller>();

/** The verified caller of a call the guard let through (an InternalError if the handler was not guarded). */
export function callerOf(call: object): Caller {
  const c = callers.get(call);
  if (!c) throw new InternalError('the call reached its handler without authentication');
  return c;
}

function refusal(d: { allowed: false; permission: Permission; reason: string }): PermissionDeniedError {
  return new PermissionDeniedError(d.permission, d.reason);
}

/** The table's check: a node identity only asks who it is; anyone else needs the RPC's permission. */
export function checkRpc(id: Identity, policy: AuthPolicy, rpc: SchedulerRpc): PermissionDeniedError | null {
  const rule = RPC_RULES[rpc];
  if (id.kind === 'node' && rule.permission !== null) {
    return new PermissionDeniedError(rule.permission, `node ${JSON.stringify(id.name)} may not call ${rpc}: a node certificate grants the agent protocol only`);
  }
  if (rule.permission === null) return null;
  const d = authorize(id, policy, rule.permission, rule.what);
  return d.allowed ? null : refusal(d);
}

/** Acting on one job: throws PermissionDeniedError unless it is the caller's own (or it may act on every job). */
export function requireJob(id: Identity, policy: AuthPolicy, verb: JobVerb, job: { id: string; owner: string }): void {
  const d = authorizeJob(id, policy, verb, job);
  if (!d.allowed) throw refusal(d);
}

/**
 * Whose job a submit makes: the caller's own, or the request's owner (jobs.submitAs); the queue
 * must be open to the caller; its ranks run as the spec's runAs when the owner may use it, else
 * the owner's first account (policy.ts resolveRunAs). Throws PermissionDeniedError.
 */
export function authorizeSubmitter(caller: Identity, policy: AuthPolicy, requestedOwner: string, spec: Pick<JobSpec, 'queue' | 'runAs'>): Submitter {
  const d = authorizeSubmit(caller, policy, { owner: requestedOwner, queue: spec.queue });
  if (!d.allowed) throw refusal(d);
  const owner = d.owner!;
  // The accounts of someone else are those auth.runAs maps to the name; its groups are unknown here.
  // An anonymous caller (plaintext development server) vouches for no name: no account is mapped.
  const ownerId: Identity = owner === caller.name ? caller : caller.kind === 'anonymous' ? ANONYMOUS : { kind: 'user', name: owner, groups: [], via: caller.via };
  const r = resolveRunAs(caller, ownerId, policy, spec.runAs);
  if (!r.allowed) throw refusal(r);
  return { owner, submittedBy: caller.name, runAs: r.account };
}

const VIA_WORDS: Readonly<Record<Identity['via'], string>> = { certificate: 'certificate', token: 'token', none: 'no credential' };

/** "alice (token)": who did something, for job messages and audit records. */
export function actorText(id: Identity): string {
  return `${id.name} (${VIA_WORDS[id.via]})`;
}

/** A cancelled job's message: who cancelled it, and the reason they gave. */
export function cancelMessage(id: Identity, reason: string): string {
  return `cancelled by ${actorText(id)}${reason ? `: ${reason}` : ''}`;
}

export interface GuardDeps {
  authn: CallAuthenticator & { onRevoked?(listener: (serials: ReadonlySet<string>) => void): () => void };
  policy: AuthPolicy;
  auditor: Auditor;
  clock: Clock;
  log: Logger;
  /** Per-caller request rates; absent: no limit. */
  rateLimit?: RateLimiter;
  /** Counts the calls the rate limit refused, by action (the RPC). */
  rateLimited?: { inc(labels: { action: string }): void };
}

/** The rate limit's key: the verified identity, or the client address of the anonymous caller. */
export function rateKey(id: Identity, peer: string): string {
  return id.via === ANONYMOUS.via ? `address:${peerAddress(peer)}` : `${id.kind}:${id.name}`;
}

type AnyCall = AuthCall & { request: Record<string, unknown> };

/** Audits a refusal or failure the handler returned (its gRPC error). */
function auditError(deps: GuardDeps, rpc: SchedulerRpc, c: Caller, req: Record<string, unknown>, err: Partial<ServiceError>): void {
  const rule = RPC_RULES[rpc];
  const target = rule.target(req);
  if (err.code === status.PERMISSION_DENIED) {
    const permission = String((err.metadata as Metadata | undefined)?.get('gantry-permission')[0] ?? '');
    deps.auditor.record({ type: 'denied', actor: actorOf(c.identity), action: rpc, target, permission, message: err.details ?? '', peer: c.peer });
  } else if (rule.changes) {
    deps.auditor.record({ type: 'failed', actor: actorOf(c.identity), action: rpc, target, permission: rule.permission ?? '', message: err.details ?? '', peer: c.peer });
  }
}

/**
 * Authenticates, checks the table and, when allowed, hands the call to the handler with its
 * caller (callerOf); refusals and the outcome of state changes are audited. Resolves to the
 * caller, or null when the call was refused (and already answered through `fail`).
 */
async function admit(deps: GuardDeps, rpc: SchedulerRpc, call: AnyCall, fail: (e: unknown) => void): Promise<Caller | null> {
  const peer = call.getPeer();
  let identity: Identity;
  try {
    identity = await deps.authn.identify(call);
  } catch (e) {
    if (e instanceof UnauthenticatedError) {
      deps.auditor.record({ type: 'unauthenticated', actor: unverifiedActor(presentedCredential(call)), action: rpc, target: RPC_RULES[rpc].target(call.request), permission: '', message: e.message, peer });
    } else if (!isGantryError(e)) {
      deps.log.error({ err: e, rpc }, 'authentication failed unexpectedly');
    }
    fail(e);
    return null;
  }
  const caller = { identity, peer };
  if (deps.rateLimit?.enabled) {
    const d = deps.rateLimit.take(rateKey(identity, peer), deps.clock.nowMs());
    if (!d.allowed) {
      deps.rateLimited?.inc({ action: rpc });
      fail(new ResourceExhaustedError(`${actorText(identity)} is over its request rate (grpc.rateLimit); retry after ${d.retryAfterMs} ms`, d.retryAfterMs));
      return null;
    }
  }
  const refused = checkRpc(identity, deps.policy, rpc);
  if (refused) {
    deps.auditor.record({ type: 'denied', actor: actorOf(identity), action: rpc, target: RPC_RULES[rpc].target(call.request), permission: refused.permission, message: refused.message, peer });
    fail(refused);
    return null;
  }
  callers.set(call, caller);
  return caller;
}

function guardUnary(deps: GuardDeps, rpc: SchedulerRpc, handler: (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void) {
  const rule = RPC_RULES[rpc];
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void => {
    const c = call as unknown as AnyCall;
    void admit(deps, rpc, c, (e) => callback(toGrpcError(e))).then((caller) => {
      if (!caller) return;
      const done: sendUnaryData<unknown> = (err, res, ...rest) => {
        if (err) auditError(deps, rpc, caller, c.request, err);
        else if (rule.changes) {
          const target = rule.target(c.request, res as Record<string, unknown> | null);
          deps.auditor.record({ type: 'allowed', actor: actorOf(caller.identity), action: rpc, target, permission: rule.permission ?? '', message: `${rpc}${target ? ` ${target}` : ''} by ${actorText(caller.identity)}`, peer: caller.peer });
        }
        callback(err, res, ...rest);
      };
      try {
        handler(call, done);
      } catch (e) {
        done(toGrpcError(e));
      }
    });
  };
}

/** The longest a timer may wait in Node (about 24.8 days); later expiries are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function guardStream(deps: GuardDeps, rpc: SchedulerRpc, handler: (call: ServerWritableStream<unknown, unknown>) => void) {
  return (call: ServerWritableStream<unknown, unknown>): void => {
    const c = call as unknown as AnyCall;
    const fail = (e: unknown): void => void call.emit('error', toGrpcError(e));
    void admit(deps, rpc, c, fail).then((caller) => {
      if (!caller) return;
      const id = caller.identity;
      let timer: NodeJS.Timeout | undefined;
      let unsubscribe: (() => void) | undefined;
      let ended = false;
      const end = (): void => {
        ended = true;
        if (timer) clearTimeout(timer);
        unsubscribe?.();
      };
      const cut = (why: string): void => {
        if (ended) return;
        end();
        fail(new UnauthenticatedError(why));
      };
      // The handler's refusals (a job that is not the caller's) are audited like the table's.
      call.on('error', (err: Partial<ServiceError>) => {
        if (!ended && err.code === status.PERMISSION_DENIED) auditError(deps, rpc, caller, c.request, err);
        end();
      });
      for (const ev of ['cancelled', 'close', 'finish']) call.on(ev, end);
      if (id.expiresMs !== undefined) {
        const arm = (): void => {
          const left = id.expiresMs! - deps.clock.nowMs();
          if (left <= 0) cut(`the caller's credential expired at ${new Date(id.expiresMs!).toISOString()}`);
          else timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
        };
        timer = setTimeout(arm, Math.min(Math.max(id.expiresMs - deps.clock.nowMs(), 0), MAX_TIMER_MS));
      }
      if (id.serial && deps.authn.onRevoked) {
        const serial = id.serial;
        const normal = normalizeSerial(serial) ?? serial;
        unsubscribe = deps.authn.onRevoked((revoked) => {
          if (revoked.has(normal)) cut(`certificate ${serial} of ${id.kind} ${JSON.stringify(id.name)} was revoked`);
        });
      }
      try {
        handler(call);
      } catch (e) {
        fail(e);
      }
    });
  };
}

/** Every SchedulerService handler behind authentication, the RPC table and the audit trail. */
export function guardSchedulerService(handlers: SchedulerServiceHandlers, deps: GuardDeps): SchedulerServiceHandlers {
  const out: Record<string, unknown> = {};
  for (const [name, handler] of Object.entries(handlers)) {
    if (!(name in RPC_RULES)) throw new InternalError(`SchedulerService.${name} has no authorization rule (scheduler/api/authz.ts RPC_RULES)`);
    const rpc = name as SchedulerRpc;
    out[name] = rpc === 'WatchEvents' ? guardStream(deps, rpc, handler as never) : guardUnary(deps, rpc, handler as never);
  }
  return out as SchedulerServiceHandlers;
}
