/** planCycle on a test cluster, with the defaults the planner tests share. */
import { planCycle, type Plan, type PlanInput } from '../../scheduler/jobs/planner.js';
import { DEFAULT_QUEUE, type QueueConfig } from '../../scheduler/queue/index.js';
import type { TestCluster } from './cluster.js';

export interface PlanOnOptions extends Partial<Omit<PlanInput, 'tree' | 'snapshot' | 'queues'>> {
  /** Queue settings by name over DEFAULT_QUEUE (every other queue: the default), or the planner's own lookup. */
  queues?: Record<string, Partial<QueueConfig>> | PlanInput['queues'];
  /** Mark the active jobs' GPUs used first, as the job manager builds its snapshot (default true). */
  reserveActive?: boolean;
}

/**
 * One cycle on `c`'s tree and snapshot: no pending or active jobs unless given, no victims
 * awaited, no usage, a 24 h fair-share half-life, time 0 unless `nowMs`.
 */
export function planOn(c: TestCluster, o: PlanOnOptions = {}): Plan {
  const { queues = {}, reserveActive = true, ...rest } = o;
  const active = o.active ?? [];
  if (reserveActive) for (const j of active) c.snapshot.reserve({ ranks: j.ranks.map((r) => ({ nodeId: c.tree.nodeId(r.node), gpus: r.gpus })) });
  return planCycle({
    nowMs: 0,
    pending: [],
    awaitingVictims: new Set(),
    usage: new Map(),
    halfLifeMs: 24 * 3_600_000,
    ...rest,
    active,
    tree: c.tree,
    snapshot: c.snapshot,
    queues: typeof queues === 'function' ? queues : (name) => ({ ...DEFAULT_QUEUE, ...(queues[name] ?? {}) }),
  });
}
