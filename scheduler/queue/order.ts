/** Pure queue policy: the order pending jobs are tried in. */
import type { JobRecord } from '../../shared/domain/index.js';

/** Higher priority first, then earlier submission, then id (a stable, total order). */
export function pendingOrder(jobs: readonly JobRecord[]): JobRecord[] {
  return [...jobs].sort(
    (a, b) => b.spec.priority - a.spec.priority || a.submittedMs - b.submittedMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}
