/**
 * Leader election on a replicated key, pure: `step(state, event, options) → { state, commands }`.
 * No I/O, no clock (times come in the events, from a monotonic clock), no randomness. The shell
 * (elector.ts) carries out the commands against a LeaseStore (an R3 JetStream KV bucket whose
 * `ttl` is the lease's time to live on nats-server 2.9, or its in-memory twin) and feeds the
 * answers back as events.
 *
 * The lease is one key. Its holder took it with `create` (which succeeds only when the key is
 * absent: never written, or expired because its holder stopped renewing) and renews it with
 * `update(key, value, lastRevision)`, a compare-and-set on the revision it last wrote. The revision
 * at which the key was created is the leader's **term**: revisions only grow, so every later
 * leader has a higher term (a gang's placement "epoch" is another thing).
 *
 *   role      event                          → role      commands
 *   standby   tick, nextTryMs reached        → standby   create            (one request in flight at a time)
 *   standby   created(revision, sentAtMs)    → leader    lead(term = revision)
 *   standby   create-failed (held / error)   → standby   -                 (try again after retryMs)
 *   leader    tick, nextRenewMs reached      → leader    renew(revision)
 *   leader    renewed(revision, sentAtMs)    → leader    -                 (validUntil = sentAtMs + ttl − margin)
 *   leader    renew-failed: conflict         → standby   step-down         (someone else holds it, or it expired)
 *   leader    renew-failed: error            → leader    -                 (retried at the next tick)
 *   leader    tick past validUntil           → standby   step-down         (the renew deadline)
 *   any       resign                         → standby   step-down (if leader)
 *
 * The renew deadline is Kubernetes' rule: a leader stops acting as soon as its monotonic clock
 * passes its last successful renewal plus the TTL minus a margin, whatever errors it sees. A
 * partitioned leader sees time-outs, not compare-and-set failures, so only the clock can depose
 * it in time. A renewal counts from when its request was SENT, not when the answer came: the
 * server started the key's TTL at or after that instant, so the lease is surely held until then.
 * The margin covers the rate difference between this host's clock and the servers'. A standby
 * never decides leadership from a plain read of the key (it may be stale); only its own `create`
 * succeeding makes it leader.
 */

export interface LeaseOptions {
  /** The lease's time to live: the KV bucket's ttl (max age). */
  ttlMs: number;
  /** How often the leader renews; default ttlMs / 3. */
  renewIntervalMs: number;
  /** How often a standby tries to take the lease; default ttlMs / 6. */
  retryMs: number;
  /** Subtracted from the TTL for the renew deadline; default ttlMs / 6. */
  marginMs: number;
}

/** Options with their defaults filled in; throws RangeError naming a bad one. */
export function leaseOptions(ttlMs: number, o: Partial<Omit<LeaseOptions, 'ttlMs'>> = {}): LeaseOptions {
  if (!Number.isFinite(ttlMs) || ttlMs < 300) throw new RangeError(`ttlMs: must be at least 300 ms (got ${ttlMs})`);
  const out: LeaseOptions = {
    ttlMs,
    renewIntervalMs: o.renewIntervalMs ?? Math.floor(ttlMs / 3),
    retryMs: o.retryMs ?? Math.floor(ttlMs / 6),
    marginMs: o.marginMs ?? Math.floor(ttlMs / 6),
  };
  if (out.marginMs < 0 || out.marginMs >= ttlMs) throw new RangeError(`marginMs: must be from 0 to below ttlMs (got ${out.marginMs})`);
  if (out.renewIntervalMs <= 0 || out.renewIntervalMs >= ttlMs - out.marginMs) {
    throw new RangeError(`renewIntervalMs: must be above 0 and below ttlMs - marginMs = ${ttlMs - out.marginMs} (got ${out.renewIntervalMs})`);
  }
  if (out.retryMs <= 0) throw new RangeError(`retryMs: must be above 0 (got ${out.retryMs})`);
  return out;
}

export type LeaseState =
  | { role: 'standby'; inFlight: boolean; nextTryMs: number }
  | {
      role: 'leader';
      term: number;
      /** The key's revision this leader last wrote: the compare-and-set value of the next renewal. */
      revision: number;
      /** Monotonic ms past which it must not act. */
      validUntilMs: number;
      nextRenewMs: number;
      inFlight: boolean;
    };

export type LeaseEvent =
  | { type: 'tick'; nowMs: number }
  | { type: 'created'; revision: number; sentAtMs: number; nowMs: number }
  /** `held`: the key exists (another holder); `error`: no answer or a server error. */
  | { type: 'create-failed'; reason: 'held' | 'error'; nowMs: number }
  | { type: 'renewed'; revision: number; sentAtMs: number; nowMs: number }
  /** `conflict`: the revision moved (another holder, or the key expired); `error`: no answer or a server error. */
  | { type: 'renew-failed'; reason: 'conflict' | 'error'; nowMs: number }
  | { type: 'resign'; nowMs: number };

/** Why a leader stopped leading. */
export type StepDownCause = 'conflict' | 'renew-deadline' | 'resigned';

export type LeaseCommand =
  | { kind: 'create' }
  | { kind: 'renew'; revision: number }
  | { kind: 'lead'; term: number }
  | { kind: 'step-down'; term: number; cause: StepDownCause };

export interface LeaseOutcome {
  state: LeaseState;
  commands: LeaseCommand[];
}

export const initialLease = (nowMs: number): LeaseState => ({ role: 'standby', inFlight: false, nextTryMs: nowMs });

const same = (state: LeaseState): LeaseOutcome => ({ state, commands: [] });

function standby(nowMs: number, o: LeaseOptions): LeaseState {
  return { role: 'standby', inFlight: false, nextTryMs: nowMs + o.retryMs };
}

/** One step of the lease machine (see the table in the head comment). */
export function step(state: LeaseState, event: LeaseEvent, o: LeaseOptions): LeaseOutcome {
  if (event.type === 'resign') {
    if (state.role !== 'leader') return same(state);
    return { state: standby(event.nowMs, o), commands: [{ kind: 'step-down', term: state.term, cause: 'resigned' }] };
  }
  if (state.role === 'standby') {
    switch (event.type) {
      case 'tick':
        if (state.inFlight || event.nowMs < state.nextTryMs) return same(state);
        return { state: { ...state, inFlight: true }, commands: [{ kind: 'create' }] };
      case 'created': {
        const validUntilMs = event.sentAtMs + o.ttlMs - o.marginMs;
        // An answer that came after the lease it grants had already run out is no lease.
        if (event.nowMs >= validUntilMs) return { state: standby(event.nowMs, o), commands: [] };
        return {
          state: { role: 'leader', term: event.revision, revision: event.revision, validUntilMs, nextRenewMs: event.sentAtMs + o.renewIntervalMs, inFlight: false },
          commands: [{ kind: 'lead', term: event.revision }],
        };
      }
      case 'create-failed':
        return { state: standby(event.nowMs, o), commands: [] };
      default:
        // Answers to a leader's requests arriving after it stepped down: nothing to do.
        return same(state);
    }
  }
  // Leader. The deadline is checked first, whatever the event.
  if (event.nowMs >= state.validUntilMs) {
    return { state: standby(event.nowMs, o), commands: [{ kind: 'step-down', term: state.term, cause: 'renew-deadline' }] };
  }
  switch (event.type) {
    case 'tick':
      if (state.inFlight || event.nowMs < state.nextRenewMs) return same(state);
      return { state: { ...state, inFlight: true }, commands: [{ kind: 'renew', revision: state.revision }] };
    case 'renewed':
      return {
        state: {
          ...state,
          revision: event.revision,
          validUntilMs: Math.max(state.validUntilMs, event.sentAtMs + o.ttlMs - o.marginMs),
          nextRenewMs: event.sentAtMs + o.renewIntervalMs,
          inFlight: false,
        },
        commands: [],
      };
    case 'renew-failed':
      if (event.reason === 'conflict') return { state: standby(event.nowMs, o), commands: [{ kind: 'step-down', term: state.term, cause: 'conflict' }] };
      // No answer: try again soon; only the deadline deposes a leader that cannot reach the servers.
      return { state: { ...state, inFlight: false, nextRenewMs: event.nowMs + Math.min(o.retryMs, o.renewIntervalMs) }, commands: [] };
    default:
      return same(state);
  }
}

/** Whether the holder of `state` may act as leader at `nowMs` (the check before every command it sends). */
export function mayLead(state: LeaseState, nowMs: number): boolean {
  return state.role === 'leader' && nowMs < state.validUntilMs;
}
