/**
 * Health evictions (issue 20), pure: a node failed its health checks with the action evict, so
 * every active gang with a rank there is stopped (its grace at most health.evictWithinMs) and
 * requeued without a retry (RequeueCause node-unhealthy). The job manager commits the batch.
 */
import type { JobRecord } from '../../shared/domain/index.js';
import { Batch } from './batch.js';
import { step, type LifecycleContext } from './lifecycle.js';

/** The batch of outcomes evicting `node`'s gangs, and how many gangs (or services' replicas) it stops. */
export function evictionBatch(jobs: Iterable<JobRecord>, node: string, checks: readonly string[], withinMs: number, ctx: LifecycleContext): { batch: Batch; gangs: number } {
  const batch = new Batch();
  let gangs = 0;
  const withinSeconds = Math.floor(withinMs / 1000);
  for (const job of jobs) {
    const out = step(job, { type: 'node-unhealthy', node, checks: [...checks], withinSeconds }, ctx);
    if (out.job === job) continue;
    batch.add(job, out);
    gangs++;
  }
  return { batch, gangs };
}
