/**
 * GetUsage and GetClusterUsage (issue 23, `gantry usage`): thin handlers over the usage service.
 * GetUsage's scope: a caller with jobs.readAll sees every user's usage (or one user's, asked by
 * name); anyone else sees only their own, and asking for another user is PERMISSION_DENIED.
 */
import type { Clock } from '../../shared/clock/index.js';
import { InvalidArgumentError, PermissionDeniedError, UnavailableError } from '../../shared/errors/index.js';
import type { SchedulerServiceHandlers } from '../../shared/proto/index.js';
import { seesAllJobs, type AuthPolicy, type Identity } from '../auth/index.js';
import { USAGE_GROUPS, type UsageGroup, type UsageService, type UsageWindow } from '../usage/index.js';
import { callerOf } from './authz.js';
import { unary } from './unary.js';

/** 2100-01-01: a bound past it is a unit mistake (seconds for ms, or µs). */
const MAX_UNIX_MS = 4_102_444_800_000;

/** The request's window, checked (names the field); until 0 means now. */
export function usageWindow(sinceMs: number, untilMs: number, nowMs: number): UsageWindow {
  const since = Number(sinceMs);
  const until = Number(untilMs) || nowMs;
  if (!Number.isSafeInteger(since) || since < 0 || since > MAX_UNIX_MS) throw new InvalidArgumentError('since_unix_ms', `must be a unix time in ms; got ${String(sinceMs)}`);
  if (!Number.isSafeInteger(until) || until < 0 || until > MAX_UNIX_MS) throw new InvalidArgumentError('until_unix_ms', `must be a unix time in ms (0: now); got ${String(untilMs)}`);
  if (until <= since) throw new InvalidArgumentError('until_unix_ms', `must be after since_unix_ms (${new Date(since).toISOString()}); got ${new Date(until).toISOString()}`);
  return { sinceMs: since, untilMs: until };
}

/**
 * Whose usage a caller gets: everyone's, or the one user asked for, with jobs.readAll; else only
 * its own (undefined: everyone). Asking for another user without jobs.readAll throws PermissionDeniedError.
 */
export function usageScope(id: Identity, policy: AuthPolicy, requested: string): string | undefined {
  if (seesAllJobs(id, policy, 'read')) return requested || undefined;
  if (requested && requested !== id.name) {
    throw new PermissionDeniedError('jobs.readAll', `${id.kind} ${JSON.stringify(id.name)} may see only its own usage; another user's needs the permission jobs.readAll`);
  }
  return id.name;
}

export function usageHandlers(usage: UsageService | undefined, policy: AuthPolicy, clock: Clock): Pick<SchedulerServiceHandlers, 'GetUsage' | 'GetClusterUsage'> {
  const service = (): UsageService => {
    if (!usage) throw new UnavailableError('usage accounting is not running on this scheduler');
    return usage;
  };
  return {
    GetUsage: unary((req, call) => {
      if (!(USAGE_GROUPS as readonly string[]).includes(req.by)) throw new InvalidArgumentError('by', `must be one of ${USAGE_GROUPS.join(', ')}; got ${JSON.stringify(req.by)}`);
      const w = usageWindow(req.sinceUnixMs, req.untilUnixMs, clock.nowMs());
      const user = usageScope(callerOf(call).identity, policy, req.user);
      const rows = service().report(req.by as UsageGroup, w, user);
      return { by: req.by, sinceUnixMs: w.sinceMs, untilUnixMs: w.untilMs, rows };
    }),
    GetClusterUsage: unary((req) => {
      const w = usageWindow(req.sinceUnixMs, req.untilUnixMs, clock.nowMs());
      const u = service().cluster(w);
      return {
        sinceUnixMs: w.sinceMs,
        untilUnixMs: w.untilMs,
        totalGpuMs: u.totalGpuMs,
        allocatedGpuMs: u.allocatedGpuMs,
        reservedGpuMs: u.reservedGpuMs,
        downOrDrainedGpuMs: u.downOrDrainedGpuMs,
        idleGpuMs: u.idleGpuMs,
        nodes: u.nodes,
      };
    }),
  };
}
