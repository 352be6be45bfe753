/**
 * Replica transitions of a running inference service, pure, in the lifecycle's terms (an Outcome:
 * the new record, commands, events): a replica placed by a cycle, a replica that waits, and a
 * scaling step. A lost replica is the lifecycle's (it is how a rank failure ends for a service
 * that keeps others). No I/O, no clock (ctx), no randomness.
 */
import { rankEpoch, type JobRecord, type RankRecord } from '../../shared/domain/index.js';
import { replicaCount, stopCommand, touch, type JobCommand, type LifecycleContext, type Outcome } from './lifecycle.js';

/** Running inference jobs short of their replica target: the unit indices to place. */
export function missingReplicas(jobs: Iterable<JobRecord>): Array<{ job: JobRecord; units: number[] }> {
  const out: Array<{ job: JobRecord; units: number[] }> = [];
  for (const j of jobs) {
    if (j.spec.kind !== 'Inference' || j.state !== 'running' || j.replicasTarget === undefined) continue;
    const have = new Set(j.ranks.map((r) => r.unit));
    const units: number[] = [];
    for (let u = 0; have.size + units.length < j.replicasTarget; u++) if (!have.has(u)) units.push(u);
    if (units.length) out.push({ job: j, units });
  }
  return out;
}

/**
 * Replica `unit` placed on `ranks` (numbered here: unit × ranks per unit + i) under a new epoch;
 * the other ranks keep theirs. Events: `replica`, and the job's state, as the epoch moved.
 */
export function replicaPlaced(job: JobRecord, unit: number, ranks: readonly RankRecord[], masterPort: number, ctx: Pick<LifecycleContext, 'nowMs'>): Outcome {
  const next = touch(job, job.state, job.message, ctx);
  const epoch = job.epoch + 1;
  for (const r of next.ranks) r.epoch = rankEpoch(job, r);
  const added = ranks.map((r, i) => ({ ...r, rank: unit * job.spec.ranks + i, unit, epoch, masterPort, placedMs: ctx.nowMs }));
  next.ranks = [...next.ranks, ...added].sort((a, b) => a.rank - b.rank);
  next.epoch = epoch;
  next.message = `replica ${unit} placed on ${[...new Set(added.map((r) => r.node))].join(', ')}; ${replicaCount(next)} of ${next.replicasTarget ?? '?'} replicas placed`;
  return { job: next, commands: [{ kind: 'start', ranks: added }], events: ['replica', next.state as 'running'] };
}

/** A missing replica could not be placed: the message says why (its first line). */
export function replicaWaits(job: JobRecord, why: string, ctx: Pick<LifecycleContext, 'nowMs'>): Outcome {
  const message = `a replica waits: ${why.split('\n')[0]}`;
  if (job.message === message) return { job, commands: [], events: [] };
  return { job: touch(job, job.state, message, ctx), commands: [], events: [] };
}

/**
 * Sets a service's replica target (the autoscaler, or an operator), clamped to replicas.min..max:
 * up, the next cycle places replicas one by one; down, the highest replicas stop.
 */
export function scaled(job: JobRecord, target: number, reason: string, ctx: Pick<LifecycleContext, 'nowMs'>): Outcome {
  if (job.spec.kind !== 'Inference') return { job, commands: [], events: [], refused: `job ${job.id} is ${job.spec.kind}; only Inference jobs scale` };
  if (job.state !== 'running') return { job, commands: [], events: [], refused: `job ${job.id} is ${job.state}; only a running service scales` };
  const want = Math.min(job.spec.replicas.max, Math.max(Math.max(1, job.spec.replicas.min), Math.round(target)));
  const from = job.replicasTarget ?? replicaCount(job);
  if (want === from) return { job, commands: [], events: [] };
  const next = touch(job, job.state, `scaled ${from} → ${want} replicas: ${reason}`, ctx);
  next.replicasTarget = want;
  const commands: JobCommand[] = [];
  if (want < from) {
    const drop = [...new Set(job.ranks.map((r) => r.unit))].sort((a, b) => b - a).slice(0, Math.max(0, replicaCount(job) - want));
    const gone = job.ranks.filter((r) => drop.includes(r.unit));
    next.ranks = job.ranks.filter((r) => !drop.includes(r.unit)).map((r) => ({ ...r, epoch: rankEpoch(job, r) }));
    if (gone.length) commands.push(stopCommand(job, gone, `scaled down: ${reason}`));
  } else {
    commands.push({ kind: 'schedule', why: 'scaled up' });
  }
  return { job: next, commands, events: ['scaled'] };
}
