/**
 * One error class per fault, each with a stable code and an optional cause.
 * The scheduler's API maps codes to gRPC statuses in one table (scheduler/api/status-table.ts);
 * the CLI maps them to exit codes (2 for bad input and config).
 */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'CONFIG_INVALID'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'PROBE_TIMEOUT'
  | 'PROBE_FAILED'
  | 'PARSE_FAILED'
  | 'STORE_FAILED'
  | 'UNAVAILABLE'
  | 'NOT_LEADER'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'INTERNAL';

export abstract class GantryError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input from a user or a peer: names the field that is wrong. */
export class InvalidArgumentError extends GantryError {
  readonly code = 'INVALID_ARGUMENT' as const;
  constructor(
    readonly field: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(field ? `${field}: ${detail}` : detail, options);
  }
}

/** A configuration key is unknown or its value bad: names the key. */
export class ConfigError extends GantryError {
  readonly code = 'CONFIG_INVALID' as const;
  constructor(
    readonly key: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`config ${key}: ${detail}`, options);
  }
}

export class NotFoundError extends GantryError {
  readonly code = 'NOT_FOUND' as const;
  /** `message`: the whole text, when another party already worded it (an agent's answer, say). */
  constructor(
    readonly what: string,
    readonly id: string,
    message?: string,
  ) {
    super(message ?? `${what} ${JSON.stringify(id)} not found`);
  }
}

export class AlreadyExistsError extends GantryError {
  readonly code = 'ALREADY_EXISTS' as const;
}

export class FailedPreconditionError extends GantryError {
  readonly code = 'FAILED_PRECONDITION' as const;
}

/** An external probe (nvidia-smi, amd-smi, ...) ran past its timeout and was killed. */
export class ProbeTimeoutError extends GantryError {
  readonly code = 'PROBE_TIMEOUT' as const;
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`${command} did not finish within ${timeoutMs} ms and was killed`);
  }
}

/** An external probe could not start or exited non-zero. */
export class ProbeFailedError extends GantryError {
  readonly code = 'PROBE_FAILED' as const;
  constructor(
    readonly command: string,
    detail: string,
    readonly exitCode: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(`${command}: ${detail}`, options);
  }
}

/** Tool output that could not be parsed. */
export class ParseError extends GantryError {
  readonly code = 'PARSE_FAILED' as const;
  constructor(
    readonly source: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot parse ${source}: ${detail}`, options);
  }
}

export class StoreError extends GantryError {
  readonly code = 'STORE_FAILED' as const;
}

export class UnavailableError extends GantryError {
  readonly code = 'UNAVAILABLE' as const;
}

/**
 * A write reached a scheduler that is not (or no longer) the leader of a high-availability control
 * plane (scheduler/ha): it changed nothing. `leader`: whom to ask instead, where known.
 */
export class NotLeaderError extends GantryError {
  readonly code = 'NOT_LEADER' as const;
  constructor(
    message: string,
    readonly leader = '',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The call carries no valid credential (no client certificate or token, or a bad, expired or revoked one). */
export class UnauthenticatedError extends GantryError {
  readonly code = 'UNAUTHENTICATED' as const;
}

/** The caller is known but may not do this: names the permission it lacks. */
export class PermissionDeniedError extends GantryError {
  readonly code = 'PERMISSION_DENIED' as const;
  constructor(
    readonly permission: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(detail, options);
  }
}

export class InternalError extends GantryError {
  readonly code = 'INTERNAL' as const;
}

export function isGantryError(e: unknown): e is GantryError {
  return e instanceof GantryError;
}

/** Too many requests (a rate limit): says when to try again. */
export class ResourceExhaustedError extends GantryError {
  readonly code = 'RESOURCE_EXHAUSTED' as const;
  constructor(
    detail: string,
    readonly retryAfterMs: number,
  ) {
    super(detail);
  }
}
