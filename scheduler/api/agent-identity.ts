/**
 * Who may speak the agent protocol, and as which node: a node certificate (URI SAN
 * urn:gantry:node:<name>) registers that node and no other; a user identity never connects; an
 * anonymous caller (only on a plaintext server, grpc.insecure) registers any name, as before
 * identities.
 */
import { PermissionDeniedError, UnauthenticatedError } from '../../shared/errors/index.js';
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
