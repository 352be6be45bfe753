/** What a submit is refused for before anything is stored, pure (the could-ever-fit check needs the tree: cluster-view.ts). */
import type { NodeRecord } from '../../shared/domain/index.js';
import { FailedPreconditionError, InvalidArgumentError } from '../../shared/errors/index.js';
import type { JobSpec } from '../../shared/jobspec/index.js';
import { ROOT_ACCOUNT, runAsRefusal } from '../placement/index.js';
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

/** How many of the accounts the nodes allow a refusal names before it says how many more. */
export const RUN_AS_LISTED = 8;

/**
 * A job whose account (jobRunAs) no known node's agent allows, ready or not: InvalidArgumentError
 * naming `runAs`, with the accounts the nodes do allow (the first RUN_AS_LISTED, sorted). No node
 * known yet: accepted (it waits for one). '' (the agent's own account) is for the agents to judge.
 */
export function checkRunAsAllowed(account: string, nodes: readonly Pick<NodeRecord, 'allowedUsers' | 'allowRoot'>[]): void {
  if (account === '' || nodes.length === 0) return;
  const allowed = new Set<string>();
  let rootListed = false;
  for (const n of nodes) {
    const users = new Set(n.allowedUsers ?? []);
    if (runAsRefusal(users, n.allowRoot ?? false, account) === null) return;
    for (const u of users) if (runAsRefusal(users, n.allowRoot ?? false, u) === null) allowed.add(u);
    rootListed ||= users.has(ROOT_ACCOUNT);
  }
  const list = [...allowed].sort();
  const named = list.length === 0 ? 'none' : list.slice(0, RUN_AS_LISTED).join(', ') + (list.length > RUN_AS_LISTED ? ` and ${list.length - RUN_AS_LISTED} more` : '');
  const root = account === ROOT_ACCOUNT && rootListed ? '; root is listed but runner.allowRoot is off wherever it is' : '';
  throw new InvalidArgumentError(
    'runAs',
    `no node's agent runs ranks as ${JSON.stringify(account)}, so the job could never start; the ${nodes.length} node(s) allow: ${named} (runner.allowedUsers, root also runner.allowRoot)${root}`,
  );
}
