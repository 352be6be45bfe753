export type { ErrorCode } from './errors.js';
export {
  GantryError,
  InvalidArgumentError,
  ConfigError,
  NotFoundError,
  AlreadyExistsError,
  FailedPreconditionError,
  ProbeTimeoutError,
  ProbeFailedError,
  ParseError,
  StoreError,
  UnavailableError,
  UnauthenticatedError,
  PermissionDeniedError,
  ResourceExhaustedError,
  InternalError,
  isGantryError,
} from './errors.js';
