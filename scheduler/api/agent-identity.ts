/**
 * Who may speak the agent protocol, and as which node: a node certificate (URI SAN
 * urn:gantry:node:<name>) registers that node and no other; a user identity never connects; an
 * anonymous caller (only on a plaintext server, grpc.insecure) registers any name, as before
 * identities. Also the audit records of the agent protocol (refusals, joins).
 */
import { randomUUID } from 'node:crypto';
import { PermissionDeniedError, UnauthenticatedError } from '../../shared/errors/index.js';
import { EVENT_SCHEMA_VERSION, type Actor, type AuditEvent } from '../../shared/events/index.js';
import type { Identity } from '../auth/index.js';

/** Why an agent stream was refused: the `reason` label of gantry_scheduler_node_identity_refused_total. */
export type ConnectRefusalReason = 'unauthenticated' | 'user-identity' | 'name-mismatch';
export const CONNECT_REFUSAL_REASONS: readonly ConnectRefusalReason[] = ['unauthenticated', 'user-identity', 'name-mismatch'];

export interface ConnectRefusal {
  reason: ConnectRefusalReason;
  error: PermissionDeniedError | UnauthenticatedError;
}

/** A user identity may not open an agent stream at all (undefined: this identity may go on). */
export function streamRefusal(id: Identity): ConnectRefusal | undefined {
  if (id.kind !== 'user') return undefined;
  return {
    reason: 'user-identity',
    error: new PermissionDeniedError('', `user ${JSON.stringify(id.name)} may not connect as an agent: the agent protocol takes a node certificate (URI SAN urn:gantry:node:<name>)`),
  };
}

/** A node certificate registers the node it names and no other (undefined: allowed). */
export function registerRefusal(id: Identity, claimed: string): ConnectRefusal | undefined {
  if (id.kind !== 'node' || id.name === claimed) return undefined;
  return {
    reason: 'name-mismatch',
    error: new PermissionDeniedError('', `the node certificate${id.serial ? ` ${id.serial}` : ''} names node ${JSON.stringify(id.name)}; it may not register as ${JSON.stringify(claimed)}`),
  };
}

export function actorOf(id: Identity | undefined): Actor {
  return id ? { name: id.name, kind: id.kind, via: id.via } : { name: '', kind: 'anonymous', via: 'none' };
}

/** An audit event of the agent protocol (`Connect`, `NodeJoined`), stamped now. */
export function agentAuditEvent(nowMs: number, e: Omit<AuditEvent, 'v' | 'id' | 'at' | 'kind' | 'permission'>): AuditEvent {
  return { v: EVENT_SCHEMA_VERSION, id: randomUUID(), at: new Date(nowMs).toISOString(), kind: 'audit', permission: '', ...e };
}
