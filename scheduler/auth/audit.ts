/**
 * The audit trail: every state change made through the API, every refusal (PERMISSION_DENIED,
 * UNAUTHENTICATED) and every failed attempt at a state change becomes an `audit` event on the
 * scheduler's EventBus (stored in the outbox, published on gantry.events.audit.<action> into
 * GANTRY_EVENTS), a log line, and for refusals a count in gantry_scheduler_auth_denied_total.
 */
import { randomUUID } from 'node:crypto';
import type { Counter } from 'prom-client';
import type { Clock } from '../../shared/clock/index.js';
import { EVENT_SCHEMA_VERSION, type Actor, type AuditEvent } from '../../shared/events/index.js';
import type { Logger } from '../../shared/log/index.js';
import type { EventBus } from '../events/index.js';
import type { AuthMethod, Identity } from './policy.js';

export function actorOf(id: Identity): Actor {
  return { name: id.name, kind: id.kind, via: id.via };
}

/** The actor of a call refused before anyone was verified: no name, and the credential it tried. */
export function unverifiedActor(presented: AuthMethod): Actor {
  return { name: '', kind: 'anonymous', via: presented };
}

/** An audit event as the caller words it; the Auditor stamps its id and time (shared/events AuditEvent documents each field). */
export type AuditRecord = Omit<AuditEvent, 'v' | 'id' | 'at' | 'kind'>;

/**
 * The most bytes (UTF-8) of an audit record's `target` (a job id or node name: the API's request
 * strings are at most 253 bytes) and of its `message` (a status's details are at most 1,500).
 * A refused call's target is what the caller sent: unclipped, a 1 MiB node name became a 1 MiB
 * event in the outbox, on NATS and in the log, per call.
 */
export const MAX_AUDIT_TARGET_BYTES = 253;
export const MAX_AUDIT_MESSAGE_BYTES = 1500;

/** `text` cut to `maxBytes` of UTF-8 (never inside a character), saying how long it was. */
export function clipText(text: string, maxBytes: number): string {
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return text;
  const kept = Buffer.from(text.slice(0, maxBytes)).subarray(0, maxBytes).toString().replace(/\uFFFD$/, '');
  return `${kept}… (${bytes} bytes)`;
}

/** Why a call was refused, as the denied counter's `reason` label. */
const DENIAL_REASON: Partial<Record<AuditEvent['type'], string>> = { denied: 'permission-denied', unauthenticated: 'unauthenticated' };

export class Auditor {
  constructor(
    private readonly deps: {
      events: EventBus;
      log: Logger;
      clock: Clock;
      /** gantry_scheduler_auth_denied_total{reason, action} (scheduler/metrics.ts). */
      denied: Counter<'reason' | 'action'>;
    },
  ) {}

  record(record: AuditRecord): void {
    const r = { ...record, target: clipText(record.target, MAX_AUDIT_TARGET_BYTES), message: clipText(record.message, MAX_AUDIT_MESSAGE_BYTES) };
    const event: AuditEvent = { v: EVENT_SCHEMA_VERSION, id: randomUUID(), at: new Date(this.deps.clock.nowMs()).toISOString(), kind: 'audit', ...r };
    const reason = DENIAL_REASON[r.type];
    if (reason) this.deps.denied.inc({ reason, action: r.action });
    const fields = { audit: r.type, actor: r.actor.name, actorKind: r.actor.kind, via: r.actor.via, action: r.action, target: r.target, permission: r.permission, peer: r.peer };
    if (r.type === 'allowed') this.deps.log.info(fields, r.message);
    else this.deps.log.warn(fields, r.message);
    this.deps.events.publish(event);
  }
}
