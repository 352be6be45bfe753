/**
 * Job traces for `gantry simulate`, pure: text in, jobs out, a bad row an InvalidArgumentError
 * naming `file:line:column` (the CLI exits 2 on it). Three formats, told apart by the header:
 *
 * - ours: `submit_s,gpus,duration_s[,gpus_per_node][,queue][,user][,job_id]` (columns by name, in
 *   any order; the first three required). submit_s and duration_s are seconds (decimals allowed),
 *   gpus a whole number ≥ 1; gpus_per_node (GPUs per rank of a multi-node gang) is optional;
 * - Philly (the flattened trace of Pollux's artifact): `timestamp,duration,num_gpus,gpu_time,cluster`,
 *   timestamp a UTC date-time string (`2017-10-09 07:01:55`), duration seconds; its `cluster` column
 *   (a virtual cluster) is reported as the job's queue (fairness), not scheduled as one (queuesScheduled);
 * - Tiresias (60_job.csv): `job_id,num_gpu,submit_time,...,duration,...`, seconds.
 *
 * Jobs come out sorted by submit time (stable: file order breaks ties), submit times relative to
 * the first. Empty lines are skipped.
 */
import { InvalidArgumentError } from '../../shared/errors/index.js';

export interface TraceJob {
  /** Position in the sorted trace (0-based). */
  index: number;
  /** The trace's job id when it has one, else the line number. */
  id: string;
  submitS: number;
  gpus: number;
  durationS: number;
  gpusPerNode?: number;
  queue?: string;
  user?: string;
}

export type TraceFormat = 'gantry' | 'philly' | 'tiresias';

export interface Trace {
  name: string;
  format: TraceFormat;
  jobs: TraceJob[];
  /** Which optional columns the trace has (fairness is reported per queue and per user only when it has them). */
  hasQueue: boolean;
  hasUser: boolean;
  /**
   * Whether the queue column is scheduled as the job's queue (ours: yes, each queue fair-shared at
   * weight 1). Philly's virtual clusters had quotas the trace does not give: they are reported
   * (fairness per queue) but every Philly job is scheduled in one queue.
   */
  queuesScheduled: boolean;
}

/** The most jobs a trace may hold (the Philly trace has 82,247). */
export const MAX_TRACE_JOBS = 2_000_000;

const OURS = ['submit_s', 'gpus', 'duration_s', 'gpus_per_node', 'queue', 'user', 'job_id'];
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

/** `2017-10-09 07:01:55` (UTC) in seconds, or NaN. */
function philly(ts: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(ts);
  if (!m) return NaN;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
}

/** Parses a trace; `name` (the file) goes into error fields and the report. */
export function parseTrace(text: string, name: string): Trace {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((c) => c.trim());
  const col = (c: string): number => header.indexOf(c);
  const where = (line: number, column: string): string => `${name}:${line}:${column}`;
  let format: TraceFormat;
  if (col('submit_s') >= 0 || col('duration_s') >= 0) format = 'gantry';
  else if (col('timestamp') >= 0 && col('num_gpus') >= 0) format = 'philly';
  else if (col('submit_time') >= 0 && col('num_gpu') >= 0) format = 'tiresias';
  else throw new InvalidArgumentError(where(1, 'header'), `unknown trace format: expected ours (submit_s,gpus,duration_s[,gpus_per_node][,queue][,user][,job_id]), Philly's (timestamp,duration,num_gpus,...) or Tiresias's (job_id,num_gpu,submit_time,...,duration)`);
  const need: Record<TraceFormat, string[]> = {
    gantry: ['submit_s', 'gpus', 'duration_s'],
    philly: ['timestamp', 'duration', 'num_gpus'],
    tiresias: ['num_gpu', 'submit_time', 'duration'],
  };
  for (const c of need[format]) if (col(c) < 0) throw new InvalidArgumentError(where(1, c), 'column missing from the header');
  if (format === 'gantry') {
    for (const c of header) if (!OURS.includes(c)) throw new InvalidArgumentError(where(1, c || '(empty)'), `unknown column; ours are ${OURS.join(', ')}`);
  }
  const [cSubmit, cGpus, cDur] = format === 'gantry' ? [col('submit_s'), col('gpus'), col('duration_s')] : format === 'philly' ? [col('timestamp'), col('num_gpus'), col('duration')] : [col('submit_time'), col('num_gpu'), col('duration')];
  const cPer = col('gpus_per_node');
  const cQueue = format === 'philly' ? col('cluster') : col('queue');
  const cUser = format === 'gantry' ? col('user') : -1;
  const cId = format === 'gantry' ? col('job_id') : format === 'tiresias' ? col('job_id') : -1;
  const raw: Omit<TraceJob, 'index'>[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const cells = line.split(',');
    const n = i + 1;
    if (cells.length !== header.length) throw new InvalidArgumentError(where(n, 'row'), `has ${cells.length} cells, the header ${header.length}`);
    const cell = (c: number): string => (cells[c] ?? '').trim();
    const num = (c: number, what: string, check: (x: number) => boolean, words: string): number => {
      const s = cell(c);
      const x = s === '' ? NaN : Number(s);
      if (!Number.isFinite(x) || !check(x)) throw new InvalidArgumentError(where(n, header[c] ?? what), `must be ${words}, got ${JSON.stringify(s)}`);
      return x;
    };
    const submitS = format === 'philly' ? philly(cell(cSubmit)) : num(cSubmit, 'submit', (x) => x >= 0, 'a number of seconds ≥ 0');
    if (!Number.isFinite(submitS)) throw new InvalidArgumentError(where(n, 'timestamp'), `must be a date and time like 2017-10-09 07:01:55, got ${JSON.stringify(cell(cSubmit))}`);
    const job: Omit<TraceJob, 'index'> = {
      id: cId >= 0 && cell(cId) !== '' ? cell(cId) : String(n),
      submitS,
      gpus: num(cGpus, 'gpus', (x) => Number.isInteger(x) && x >= 1 && x <= 1_000_000, 'a whole number of GPUs ≥ 1'),
      durationS: num(cDur, 'duration', (x) => x > 0, 'a number of seconds > 0'),
    };
    if (cPer >= 0 && cell(cPer) !== '') job.gpusPerNode = num(cPer, 'gpus_per_node', (x) => Number.isInteger(x) && x >= 1 && x <= 1024, 'a whole number of GPUs ≥ 1');
    for (const [c, key] of [[cQueue, 'queue'], [cUser, 'user']] as const) {
      if (c < 0 || cell(c) === '') continue;
      if (!NAME.test(cell(c))) throw new InvalidArgumentError(where(n, header[c]!), `must be a name (letters, digits, . _ -; at most 63), got ${JSON.stringify(cell(c))}`);
      job[key] = cell(c).toLowerCase();
    }
    raw.push(job);
    if (raw.length > MAX_TRACE_JOBS) throw new InvalidArgumentError(where(n, 'row'), `more than ${MAX_TRACE_JOBS} jobs`);
  }
  if (raw.length === 0) throw new InvalidArgumentError(where(2, 'row'), 'the trace has no jobs');
  // Stable sort by submit time: ties keep file order.
  const order = raw.map((j, i) => [j, i] as const).sort((a, b) => a[0].submitS - b[0].submitS || a[1] - b[1]);
  const t0 = order[0]![0].submitS;
  const jobs = order.map(([j], index) => ({ ...j, index, submitS: j.submitS - t0 }));
  return { name, format, jobs, hasQueue: jobs.some((j) => j.queue !== undefined), hasUser: jobs.some((j) => j.user !== undefined), queuesScheduled: format === 'gantry' };
}
