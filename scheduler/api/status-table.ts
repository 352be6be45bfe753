import { status, type ServiceError, Metadata } from '@grpc/grpc-js';
import { isGantryError, NotLeaderError, PermissionDeniedError, ResourceExhaustedError, type ErrorCode } from '../../shared/errors/index.js';

/** The one table from Gantry error codes to gRPC status codes. */
export const GRPC_STATUS: Record<ErrorCode, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  CONFIG_INVALID: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  PROBE_TIMEOUT: status.DEADLINE_EXCEEDED,
  PROBE_FAILED: status.UNAVAILABLE,
  PARSE_FAILED: status.INVALID_ARGUMENT,
  STORE_FAILED: status.INTERNAL,
  UNAVAILABLE: status.UNAVAILABLE,
  NOT_LEADER: status.UNAVAILABLE,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  INTERNAL: status.INTERNAL,
};

/**
 * The most bytes (UTF-8) of an error's text sent as its status details (grpc-message). A refusal
 * quotes the value it refuses, and a 1 MB name quoted whole made a trailer over the client's
 * metadata limit (grpc-js: 8 KiB by default): the status never arrived and the connection stalled
 * until the call's deadline (the API fuzz test, issue 18). Percent-encoded, 1,500 bytes take at
 * most 4.5 KiB. The cut says how much was left out.
 */
export const MAX_STATUS_DETAILS_BYTES = 1500;

function capDetails(text: string): string {
  const bytes = Buffer.byteLength(text);
  if (bytes <= MAX_STATUS_DETAILS_BYTES) return text;
  const kept = Buffer.from(text).subarray(0, MAX_STATUS_DETAILS_BYTES - 40).toString().replace(/\uFFFD$/, '');
  return `${kept}… (${bytes - Buffer.byteLength(kept)} more bytes)`;
}

/**
 * Turns any thrown value into a gRPC error; the Gantry code travels in metadata `gantry-code`, and
 * a refusal's missing permission in `gantry-permission`,
 * a rate limit's wait in `retry-after-ms`, a standby's leader (host:port, when known) in
 * `gantry-leader` (clients follow it: shared/cli/leader.ts).
 */
export function toGrpcError(e: unknown): Partial<ServiceError> {
  const metadata = new Metadata();
  if (isGantryError(e)) {
    metadata.set('gantry-code', e.code);
    if (e instanceof PermissionDeniedError) metadata.set('gantry-permission', e.permission);
    if (e instanceof ResourceExhaustedError) metadata.set('retry-after-ms', String(e.retryAfterMs));
    // The leader's host:port, for a client given several scheduler addresses (the agent's reporter, the CLI).
    if (e instanceof NotLeaderError && e.leader) metadata.set('gantry-leader', e.leader);
    return { code: GRPC_STATUS[e.code], details: capDetails(e.message), metadata };
  }
  metadata.set('gantry-code', 'INTERNAL');
  return { code: status.INTERNAL, details: capDetails(e instanceof Error ? e.message : String(e)), metadata };
}
