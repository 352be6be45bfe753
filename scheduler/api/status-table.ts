import { status, type ServiceError, Metadata } from '@grpc/grpc-js';
import { isGantryError, PermissionDeniedError, ResourceExhaustedError, type ErrorCode } from '../../shared/errors/index.js';

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
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  INTERNAL: status.INTERNAL,
};

/**
 * Turns any thrown value into a gRPC error; the Gantry code travels in metadata `gantry-code`, and
 * a refusal's missing permission in `gantry-permission`,
 * a rate limit's wait in `retry-after-ms`.
 */
export function toGrpcError(e: unknown): Partial<ServiceError> {
  const metadata = new Metadata();
  if (isGantryError(e)) {
    metadata.set('gantry-code', e.code);
    if (e instanceof PermissionDeniedError) metadata.set('gantry-permission', e.permission);
    if (e instanceof ResourceExhaustedError) metadata.set('retry-after-ms', String(e.retryAfterMs));
    return { code: GRPC_STATUS[e.code], details: e.message, metadata };
  }
  metadata.set('gantry-code', 'INTERNAL');
  return { code: status.INTERNAL, details: e instanceof Error ? e.message : String(e), metadata };
}
