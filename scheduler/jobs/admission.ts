/** What a submit is refused for before anything is stored, pure (the could-ever-fit check needs the tree: cluster-view.ts). */
import { FailedPreconditionError, InvalidArgumentError } from '../../shared/errors/index.js';
import type { JobSpec } from '../../shared/jobspec/index.js';
import { jobMinGpus, quotaBlock, type QueueConfig } from '../queue/index.js';
import { blocksOverlap, blockText, serviceBlock } from './service-ports.js';

/** An unknown queue, a service port block overlapping the MASTER_PORT range: InvalidArgumentError naming the field. */
export function checkSpec(spec: JobSpec, queues: Readonly<Record<string, QueueConfig>>, masterPortRange: { min: number; max: number }): QueueConfig {
  const queue = queues[spec.queue];
  if (!queue) throw new InvalidArgumentError('queue', `unknown queue "${spec.queue}"; the queues are ${Object.keys(queues).sort().join(', ')}`);
  const block = serviceBlock(spec);
  const master = { lo: masterPortRange.min, hi: masterPortRange.max };
  if (block && blocksOverlap(block, master)) {
    throw new InvalidArgumentError(
      'slo.port',
      `the service port block ${blockText(block)} (replica i serves on slo.port + i, i < replicas.max) overlaps the scheduler's MASTER_PORT range ${blockText(master)} (jobs.masterPortMin–jobs.masterPortMax); choose a block outside it`,
    );
  }
  return queue;
}

/** A job whose minimum exceeds what its queue may ever hold: FailedPreconditionError. */
export function checkQuota(spec: JobSpec, queue: QueueConfig): void {
  const overQuota = quotaBlock(spec.queue, queue, 0, jobMinGpus({ spec }));
  if (overQuota) throw new FailedPreconditionError(`job ${spec.name} could never run: ${overQuota}`);
}
