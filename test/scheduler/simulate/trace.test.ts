/** Trace parsers (scheduler/simulate/trace.ts): the three formats, checked against the fixtures' own rows; bad rows name file, line and column. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../shared/procs/index.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { parseTrace } from '../../../scheduler/simulate/index.js';

const TRACES = join(packageRoot(), 'fixtures', 'traces');
const read = (p: string): string => readFileSync(join(TRACES, p), 'utf8');

/** The fixture's data rows, split by hand (no parser of ours). */
function rows(text: string): string[][] {
  return text.split('\n').slice(1).filter((l) => l.trim() !== '').map((l) => l.split(','));
}

t.test('Philly: every job, sorted by timestamp, durations, GPUs and virtual cluster as the file has them', async (t) => {
  const text = read('philly/philly.csv');
  const raw = rows(text);
  const trace = parseTrace(text, 'philly.csv');
  t.equal(trace.format, 'philly');
  t.equal(trace.jobs.length, raw.length);
  t.equal(trace.jobs.length, 82_247, 'as SOURCES.md counts');
  t.ok(trace.hasQueue, 'the cluster column is the queue');
  t.notOk(trace.hasUser);
  const secs = (ts: string): number => Date.parse(`${ts.replace(' ', 'T')}Z`) / 1000;
  const t0 = raw.reduce((a, r) => Math.min(a, secs(r[0]!)), Infinity);
  for (const i of [0, 1, 2, 1000, 82_246]) {
    const r = raw[i]!;
    const job = trace.jobs.find((j) => j.id === String(i + 2))!;
    t.same({ submitS: job.submitS, durationS: job.durationS, gpus: job.gpus, queue: job.queue }, { submitS: secs(r[0]!) - t0, durationS: Number(r[1]), gpus: Number(r[2]), queue: r[4] }, `line ${i + 2}`);
  }
  for (let i = 1; i < trace.jobs.length; i++) if (trace.jobs[i]!.submitS < trace.jobs[i - 1]!.submitS) t.fail(`not sorted at ${i}`);
  t.equal(trace.jobs[0]!.submitS, 0, 'submit times from the first job');
});

t.test("Tiresias's 60-job trace: submit_time, num_gpu, duration, job_id", async (t) => {
  const text = read('tiresias/60_job.csv');
  const header = text.split('\n')[0]!.split(',');
  const raw = rows(text);
  const trace = parseTrace(text, '60_job.csv');
  t.equal(trace.format, 'tiresias');
  t.equal(trace.jobs.length, 60);
  for (const r of raw) {
    const job = trace.jobs.find((j) => j.id === r[header.indexOf('job_id')])!;
    t.same([job.submitS, job.gpus, job.durationS], [Number(r[header.indexOf('submit_time')]) - Number(raw[0]![header.indexOf('submit_time')]), Number(r[header.indexOf('num_gpu')]), Number(r[header.indexOf('duration')])]);
  }
});

t.test('ours: columns by name in any order, optional ones kept', async (t) => {
  const trace = parseTrace('user,gpus,submit_s,duration_s,queue,job_id,gpus_per_node\nbob,16,5,60,Research,a,4\nann,1,0,30.5,,b,\n', 'mine.csv');
  t.equal(trace.format, 'gantry');
  t.same(trace.jobs, [
    { id: 'b', submitS: 0, gpus: 1, durationS: 30.5, user: 'ann', index: 0 },
    { id: 'a', submitS: 5, gpus: 16, durationS: 60, gpusPerNode: 4, queue: 'research', user: 'bob', index: 1 },
  ]);
  t.ok(trace.hasQueue && trace.hasUser);
});

t.test('bad input: an InvalidArgumentError naming file:line:column', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['no known header', 'a,b,c\n1,2,3\n', /^t\.csv:1:header: unknown trace format/],
    ['missing column', 'submit_s,gpus\n1,2\n', /^t\.csv:1:duration_s: column missing/],
    ['unknown column', 'submit_s,gpus,duration_s,colour\n0,1,1,red\n', /^t\.csv:1:colour: unknown column/],
    ['GPUs not whole', 'submit_s,gpus,duration_s\n0,1,1\n3,1.5,1\n', /^t\.csv:3:gpus: must be a whole number of GPUs/],
    ['negative submit', 'submit_s,gpus,duration_s\n-1,1,1\n', /^t\.csv:2:submit_s: must be a number of seconds ≥ 0/],
    ['zero duration', 'submit_s,gpus,duration_s\n0,1,0\n', /^t\.csv:2:duration_s: must be a number of seconds > 0/],
    ['short row', 'submit_s,gpus,duration_s\n0,1\n', /^t\.csv:2:row: has 2 cells, the header 3/],
    ['bad queue', 'submit_s,gpus,duration_s,queue\n0,1,1,a b\n', /^t\.csv:2:queue: must be a name/],
    ['bad timestamp', 'timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-09,1,1,1,x\n', /^t\.csv:2:timestamp: must be a date and time/],
    ['empty', 'submit_s,gpus,duration_s\n\n', /^t\.csv:2:row: the trace has no jobs/],
  ];
  for (const [what, text, message] of cases) {
    let err: unknown;
    try {
      parseTrace(text, 't.csv');
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof InvalidArgumentError, `${what}: InvalidArgumentError`);
    t.match((err as Error | undefined)?.message ?? '', message, what);
  }
});
