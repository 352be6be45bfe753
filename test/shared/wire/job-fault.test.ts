/**
 * JobFault at the scheduler's boundary (shared/wire/job-fault.ts): what an agent sends comes back
 * the same, and every field out of bounds is INVALID_ARGUMENT naming that field; a job's recorded
 * faults on the user API (RankFault) round-trip.
 */
import t from 'tap';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { JOB_FAULT_BOUNDS, JOB_FAULT_UNKNOWN_GPU, jobFaultFromPb, jobFaultToPb, rankFaultFromPb, rankFaultToPb, type JobFaultView } from '../../../shared/wire/index.js';
import type { PbJobFaultOut, PbRankFaultOut } from '../../../shared/proto/index.js';

const fault: JobFaultView = { jobId: 'train-7', rank: 1, epoch: 3, xid: 13, gpu: 3, pid: 4242, processName: 'python3', evidence: 'Xid 13 on PCI 0000:9b:00 (pid 4242 python3): ...', atMs: 1_800_000_000_000 };
const wire = (f: JobFaultView): PbJobFaultOut => jobFaultToPb(f) as PbJobFaultOut;

t.test('a fault round-trips; an unknown GPU travels as the sentinel and comes back null', async (t) => {
  t.same(jobFaultFromPb(wire(fault), 'jobFault'), fault);
  const unknown = { ...fault, gpu: null };
  t.equal(wire(unknown).gpu, JOB_FAULT_UNKNOWN_GPU);
  t.same(jobFaultFromPb(wire(unknown), 'jobFault'), unknown);
});

t.test('every bad field is named', async (t) => {
  const bad: Array<[Partial<PbJobFaultOut>, string]> = [
    [{ jobId: '' }, 'jobFault.jobId'],
    [{ jobId: 'a/b' }, 'jobFault.jobId'],
    [{ jobId: 'x'.repeat(JOB_FAULT_BOUNDS.jobIdMax + 1) }, 'jobFault.jobId'],
    [{ rank: JOB_FAULT_BOUNDS.rankMax + 1 }, 'jobFault.rank'],
    [{ xid: 0 }, 'jobFault.xid'],
    [{ xid: JOB_FAULT_BOUNDS.xidMax + 1 }, 'jobFault.xid'],
    [{ gpu: JOB_FAULT_BOUNDS.gpuMax + 1 }, 'jobFault.gpu'],
    [{ pid: 0 }, 'jobFault.pid'],
    [{ pid: JOB_FAULT_BOUNDS.pidMax + 1 }, 'jobFault.pid'],
    [{ processName: 'p'.repeat(JOB_FAULT_BOUNDS.processNameMax + 1) }, 'jobFault.processName'],
    [{ evidence: 'e'.repeat(JOB_FAULT_BOUNDS.evidenceMax + 1) }, 'jobFault.evidence'],
    [{ atUnixMs: -1 }, 'jobFault.atUnixMs'],
  ];
  const fieldOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
      return undefined;
    } catch (e) {
      return e instanceof InvalidArgumentError ? e.field : `not INVALID_ARGUMENT: ${String(e)}`;
    }
  };
  for (const [patch, field] of bad) t.equal(fieldOf(() => jobFaultFromPb({ ...wire(fault), ...patch }, 'jobFault')), field, `${field}: ${JSON.stringify(patch).slice(0, 60)}`);
  t.equal(fieldOf(() => jobFaultFromPb(null, 'jobFault')), 'jobFault');
});

t.test("the agent's own sender bounds its texts", async (t) => {
  const long = jobFaultToPb({ ...fault, evidence: 'e'.repeat(5000), processName: 'p'.repeat(500) }) as PbJobFaultOut;
  t.equal(long.evidence.length, JOB_FAULT_BOUNDS.evidenceMax);
  t.equal(long.processName.length, JOB_FAULT_BOUNDS.processNameMax);
  t.doesNotThrow(() => jobFaultFromPb(long, 'jobFault'));
});

t.test('a recorded fault on the user API', async (t) => {
  const rec = { xid: 45, rank: 0, epoch: 2, node: 'n1', gpu: null, pid: 9, processName: 'p', atMs: Date.parse('2026-01-01T00:00:00Z'), evidence: 'e' };
  t.same(rankFaultFromPb(rankFaultToPb(rec) as PbRankFaultOut), { xid: 45, rank: 0, epoch: 2, node: 'n1', gpu: null, pid: 9, processName: 'p', at: '2026-01-01T00:00:00.000Z', evidence: 'e' });
  t.equal((rankFaultToPb({ ...rec, gpu: 5 }) as PbRankFaultOut).gpu, 5);
});
