/**
 * What the cycle planner (planner.ts) keeps between cycles so that a long queue stays cheap, pure:
 * each pending job's placement request and its interned shape (the failed-placement cache's key,
 * with the current cycle's misses on it), and the preemption bounds per active list. None of it
 * changes a decision (test/scheduler/jobs/planner-caches.test.ts); it only spares work.
 */
import { jobRunAs, type JobRecord } from '../../shared/domain/index.js';
import { requestFromJobSpec, type placeJob } from '../placement/index.js';
import type { QueueConfig } from '../queue/index.js';
import type { Request } from './what-if.js';

/**
 * Whether `job` might preempt any of `holders` (mayPreempt's conditions, bounded once per cycle):
 * false only when no holder sits in a lower-priority queue, none of its queue priority has a
 * lower job priority, and quota reclaim cannot apply (the job's queue has no nominal quota, or
 * no holder's queue other than its own has one).
 */
export function preemptionBounds(holders: readonly JobRecord[], queues: (name: string) => QueueConfig): (job: JobRecord) => boolean {
  let lowestQueue = Infinity;
  const lowestJobAt = new Map<number, number>();
  const quotaQueues = new Set<string>();
  // Holders of one queue and job priority come in runs: each run is looked up once.
  let lastQueue: string | undefined;
  let lastPriority = NaN;
  for (const v of holders) {
    if (v.spec.queue === lastQueue && v.spec.priority === lastPriority) continue;
    lastQueue = v.spec.queue;
    lastPriority = v.spec.priority;
    const q = queues(v.spec.queue);
    lowestQueue = Math.min(lowestQueue, q.priority);
    lowestJobAt.set(q.priority, Math.min(lowestJobAt.get(q.priority) ?? Infinity, v.spec.priority));
    if (q.nominalGpus !== null) quotaQueues.add(v.spec.queue);
  }
  return (job) => {
    const q = queues(job.spec.queue);
    if (lowestQueue < q.priority) return true;
    if ((lowestJobAt.get(q.priority) ?? Infinity) < job.spec.priority) return true;
    return q.nominalGpus !== null && [...quotaQueues].some((name) => name !== job.spec.queue);
  };
}

export type Outcome = ReturnType<typeof placeJob>;

/**
 * The requests of one JSON (jobs of one shape): the failed-placement cache's key, and the misses
 * the current cycle (`cycle`, its token) met with it, per variant (0: on the cycle's snapshot, 1:
 * with the reservation's GPUs released, a backfill candidate's) at the snapshot's `version`.
 * Interned, so that a job's miss is found by reading fields, not by hashing its JSON: a queue of
 * thousands made these lookups most of a cycle. At most SHAPES_KEPT are interned; past that the
 * table starts again (a request keeps its shape; jobs of one JSON may then not share misses, which
 * costs searches, never a wrong answer).
 */
export interface Shape {
  readonly key: string;
  cycle: object | null;
  version: [number, number];
  out: [Outcome | null, Outcome | null];
}
const SHAPES_KEPT = 4096;
const shapes = new Map<string, Shape>();
function shapeOf(key: string): Shape {
  let shape = shapes.get(key);
  if (!shape) {
    if (shapes.size >= SHAPES_KEPT) shapes.clear();
    shape = { key, cycle: null, version: [-1, -1], out: [null, null] };
    shapes.set(key, shape);
  }
  return shape;
}

/**
 * preemptionBounds per active list: a caller that passes the same list (and queue lookup) again
 * while nothing started or ended (the simulator, cycle after cycle of arrivals) gets the same
 * bounds without a pass over every running gang. Lists are never changed once passed.
 */
const boundsByList = new WeakMap<readonly JobRecord[], { queues: (name: string) => QueueConfig; bounds: (job: JobRecord) => boolean }>();
export function boundsOf(active: readonly JobRecord[], queues: (name: string) => QueueConfig): (job: JobRecord) => boolean {
  const hit = boundsByList.get(active);
  if (hit && hit.queues === queues) return hit.bounds;
  const bounds = preemptionBounds(active, queues);
  boundsByList.set(active, { queues, bounds });
  return bounds;
}

/**
 * A pending job's placement request and its shape, made once per spec and account: a job waits
 * through many cycles, and rebuilding and stringifying its request each time was most of a long
 * queue's cycle. Requests are never changed once made.
 */
export interface CycleRequest {
  runAs: string;
  request: Request;
  shape: Shape;
}
const REQUEST = Symbol('gantry.cycleRequest');
export function cycleRequest(job: JobRecord): CycleRequest {
  const runAs = jobRunAs(job);
  // Kept on the spec under a private symbol, not enumerable (JSON, structuredClone and comparisons
  // skip it): a WeakMap lookup per pending job per cycle was a tenth of a long queue's cycle.
  const spec = job.spec as JobRecord['spec'] & { [REQUEST]?: CycleRequest };
  const hit = spec[REQUEST];
  if (hit && hit.runAs === runAs) return hit;
  let request = requestFromJobSpec(job.spec, runAs);
  // An autoscaled service starts at its minimum; the autoscaler adds replicas as latency asks.
  if (job.spec.kind === 'Inference' && job.spec.slo) request = { ...request, units: Math.max(1, request.minUnits) };
  const made = { runAs, request, shape: shapeOf(JSON.stringify(request)) };
  if (Object.isExtensible(spec)) Object.defineProperty(spec, REQUEST, { value: made, configurable: true, writable: true, enumerable: false });
  return made;
}
