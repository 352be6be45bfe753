/** The one error of rank containment: a cgroup file or directory that could not be read, written, made or removed. */
import { GantryError } from '../../../shared/errors/index.js';

export class CgroupError extends GantryError {
  /** Stable: the host's cgroups refused what containment needs (the agent reports it, the rank is not started). */
  readonly code = 'FAILED_PRECONDITION' as const;
  constructor(
    /** The file or directory that failed (absolute path). */
    readonly file: string,
    /** What was done to it: read, write, mkdir, rmdir, kill, wait. */
    readonly op: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`cgroup ${op} ${file}: ${detail}`, options);
  }
}
