/**
 * Application XIDs from agents (issue 20 point 3), the scheduler's side: a JobFault an agent sent
 * (checked at the stream's boundary, shared/wire/job-fault.ts) becomes the job's fault, not the
 * node's: recorded on the job record (the last MAX_JOB_FAULTS), published as a `fault` job event,
 * and an active run of that epoch requeued with cause application-xid (lifecycle.ts, event
 * 'fault'). The node is not cordoned. A fault for a job this scheduler does not know, or for a
 * rank not placed on the sending node in that epoch, is ignored with a debug log: it is late or
 * stale, not an error of the agent.
 */
import type { Counter } from 'prom-client';
import type { JobFaultRecord } from '../../shared/domain/index.js';
import type { Logger } from '../../shared/log/index.js';
import type { JobFaultView } from '../../shared/wire/index.js';

/** What applying a fault did: requeued an active run, recorded it only, or nothing (unknown job, rank not placed there). */
export type FaultApplied = 'requeued' | 'recorded' | 'unknown-job' | 'not-placed';

export interface FaultIntakeDeps {
  onJobFault(jobId: string, fault: JobFaultRecord): Promise<FaultApplied>;
  /** gantry_scheduler_job_faults_total{xid}. */
  counter: Counter<'xid'>;
  log: Logger;
}

/** The record a fault from `node` makes. */
export function faultRecord(node: string, f: JobFaultView): JobFaultRecord {
  return { xid: f.xid, rank: f.rank, epoch: f.epoch, node, gpu: f.gpu, pid: f.pid, processName: f.processName, atMs: f.atMs, evidence: f.evidence };
}

/** The handler AgentStreams calls for each JobFault (after its checks). */
export function createFaultIntake(deps: FaultIntakeDeps): (node: string, fault: JobFaultView) => Promise<void> {
  return async (node, f) => {
    const applied = await deps.onJobFault(f.jobId, faultRecord(node, f));
    const where = { node, job: f.jobId, rank: f.rank, epoch: f.epoch, xid: f.xid, gpu: f.gpu, pid: f.pid };
    if (applied === 'unknown-job' || applied === 'not-placed') {
      deps.log.debug({ ...where, why: applied }, 'job fault ignored: an unknown job, a rank not placed on that node in that epoch, or recorded already');
      return;
    }
    deps.counter.inc({ xid: String(f.xid) });
    deps.log.warn({ ...where, process: f.processName, requeued: applied === 'requeued' }, `application XID ${f.xid} on rank ${f.rank} of job ${f.jobId}`);
  };
}
