/**
 * JobFault (agent → scheduler, issue 20 point 3) and RankFault (a job's recorded faults, on the
 * user API) on the wire: an application XID an agent attributed to one of its ranks. The scheduler
 * checks every field at its boundary (jobFaultFromPb): a bad one is INVALID_ARGUMENT naming it.
 */
import type { JobFaultRecord } from '../domain/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { PbJobFault, PbJobFaultOut, PbRankFault, PbRankFaultOut } from '../proto/index.js';

/** JobFault.gpu when the XID's PCI address matched no GPU the agent knows. */
export const JOB_FAULT_UNKNOWN_GPU = 0xffffffff;

export const JOB_FAULT_BOUNDS = {
  jobIdMax: 128,
  /** XIDs are small numbers (the catalog ends in the hundreds). */
  xidMax: 65_535,
  gpuMax: 1023,
  rankMax: 1_000_000,
  processNameMax: 256,
  evidenceMax: 1024,
  /** Linux pid_max's ceiling (2^22). */
  pidMax: 4_194_304,
} as const;

/** A fault as the agent sends it. */
export interface JobFaultView {
  jobId: string;
  rank: number;
  epoch: number;
  xid: number;
  /** null: the XID named no GPU the agent knows. */
  gpu: number | null;
  pid: number;
  processName: string;
  evidence: string;
  atMs: number;
}

export function jobFaultToPb(f: JobFaultView): PbJobFault {
  return {
    jobId: f.jobId,
    rank: f.rank,
    epoch: f.epoch,
    xid: f.xid,
    gpu: f.gpu ?? JOB_FAULT_UNKNOWN_GPU,
    pid: f.pid,
    processName: f.processName.slice(0, JOB_FAULT_BOUNDS.processNameMax),
    evidence: f.evidence.slice(0, JOB_FAULT_BOUNDS.evidenceMax),
    atUnixMs: f.atMs,
  };
}

function bounded(field: string, v: number, min: number, max: number): number {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new InvalidArgumentError(field, `must be an integer from ${min} to ${max}; got ${v}`);
  return v;
}

function text(field: string, v: string, max: number): string {
  if (v.length > max) throw new InvalidArgumentError(field, `must be at most ${max} characters; got ${v.length}`);
  return v;
}

/** The fault an agent sent, checked: every number in range, the texts bounded, the job id well formed. */
export function jobFaultFromPb(pb: PbJobFaultOut | null | undefined, field: string): JobFaultView {
  if (!pb) throw new InvalidArgumentError(field, 'is required');
  const B = JOB_FAULT_BOUNDS;
  if (!pb.jobId) throw new InvalidArgumentError(`${field}.jobId`, 'is required');
  if (pb.jobId.length > B.jobIdMax || !/^[A-Za-z0-9._-]+$/.test(pb.jobId)) {
    throw new InvalidArgumentError(`${field}.jobId`, `must be 1-${B.jobIdMax} characters of [A-Za-z0-9._-]; got ${JSON.stringify(pb.jobId.slice(0, 40))}`);
  }
  return {
    jobId: pb.jobId,
    rank: bounded(`${field}.rank`, pb.rank, 0, B.rankMax),
    epoch: bounded(`${field}.epoch`, Number(pb.epoch), 0, Number.MAX_SAFE_INTEGER),
    xid: bounded(`${field}.xid`, pb.xid, 1, B.xidMax),
    gpu: pb.gpu === JOB_FAULT_UNKNOWN_GPU ? null : bounded(`${field}.gpu`, pb.gpu, 0, B.gpuMax),
    pid: bounded(`${field}.pid`, pb.pid, 1, B.pidMax),
    processName: text(`${field}.processName`, pb.processName, B.processNameMax),
    evidence: text(`${field}.evidence`, pb.evidence, B.evidenceMax),
    atMs: bounded(`${field}.atUnixMs`, Number(pb.atUnixMs), 0, Number.MAX_SAFE_INTEGER),
  };
}

export function rankFaultToPb(f: JobFaultRecord): PbRankFault {
  return { xid: f.xid, rank: f.rank, epoch: f.epoch, node: f.node, gpu: f.gpu ?? -1, pid: f.pid, processName: f.processName, atUnixMs: f.atMs, evidence: f.evidence };
}

/** A recorded fault as `gantry job` shows it: the record, its time as ISO text. */
export type RankFaultView = Omit<JobFaultRecord, 'atMs'> & { at: string };

export function rankFaultFromPb(pb: PbRankFaultOut): RankFaultView {
  return {
    xid: pb.xid,
    rank: pb.rank,
    epoch: Number(pb.epoch),
    node: pb.node,
    gpu: pb.gpu < 0 ? null : pb.gpu,
    pid: pb.pid,
    processName: pb.processName,
    at: new Date(Number(pb.atUnixMs)).toISOString(),
    evidence: pb.evidence,
  };
}
