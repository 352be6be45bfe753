/** `gantry job` text: an SLO service shows each replica's service port (README "Service ports"). */
import t from 'tap';
import { bytesText, cpuTimeText, jobText, jobsTable } from '../../../shared/cli/job-format.js';
import type { JobView } from '../../../shared/wire/index.js';

const rank = (r: number, unit: number, node: string) => ({ rank: r, unit, node, gpus: [0], topologyAddress: `s.l.${node}`, state: 'running', exitCode: null, signal: null, startError: null, masterPort: 29500 + unit });
const view = (kind: string, spec: unknown): JobView => ({
  id: 'svc-1', name: 'svc', kind, queue: 'default', priority: 0, state: 'running', message: '', attempt: 0, epoch: 2,
  submitted: '2026-01-01T00:00:00.000Z', started: null, finished: null, owner: '', masterPort: 29500,
  ranks: [rank(0, 0, 'gpu-01'), rank(1, 1, 'gpu-01'), rank(2, 2, 'gpu-02')], spec,
});

t.test('an SLO service lists the port of each replica', async (t) => {
  const text = jobText(view('Inference', { kind: 'Inference', slo: { p99Ms: 250, metric: 'm', port: 9400 } }), undefined);
  t.match(text, /RANK\s+UNIT\s+NODE\s+GPUS\s+TOPOLOGY\s+PORT\s+STATE/);
  t.match(text, /\n\s+0\s+0\s+gpu-01\s+0\s+s\.l\.gpu-01\s+9400\s+running/);
  t.match(text, /\n\s+1\s+1\s+gpu-01\s+0\s+s\.l\.gpu-01\s+9401\s+running/, 'two replicas on one node, two ports');
  t.match(text, /\n\s+2\s+2\s+gpu-02\s+0\s+s\.l\.gpu-02\s+9402\s+running/);
  t.match(text, /MASTER_PORT per unit 0:29500 1:29501 2:29502\n/, 'each replica is its own world, with its own MASTER_PORT');
});

t.test('other jobs have no port column', async (t) => {
  t.notMatch(jobText(view('Inference', { kind: 'Inference' }), undefined), /PORT\s+STATE/);
  t.notMatch(jobText(view('Training', { kind: 'Training' }), undefined), /PORT\s+STATE/);
});

t.test("an exited rank shows its exit code, its signal, or that it never started", async (t) => {
  const cases: Array<[Partial<JobView['ranks'][number]>, RegExp]> = [
    [{ state: 'exited', exitCode: 3 }, /exited \(code 3\)/],
    [{ state: 'exited', signal: 'SIGKILL' }, /exited \(SIGKILL\)/],
    [{ state: 'exited', startError: 'runAs: "daemon" is not one of the agent\'s allowed users' }, /exited \(failed to start\)/],
  ];
  for (const [patch, want] of cases) {
    const v = view('Training', { kind: 'Training' });
    v.ranks = [{ ...rank(0, 0, 'gpu-01'), ...patch } as JobView['ranks'][number]];
    t.match(jobText(v, undefined), want);
  }
});

t.test('a timed-out job: its state, and per rank how it ended with CPU time, memory peak and OOM kills where measured', async (t) => {
  const v = view('Training', { kind: 'Training' });
  v.state = 'timeout';
  v.started = '2026-01-01T00:00:01.000Z';
  v.deadline = '2026-01-01T00:00:03.000Z';
  v.message = "rank 0 on gpu-01 was stopped at the job's time limit (2 s); timed out (no retry used)";
  v.ranks = [
    { ...rank(0, 0, 'gpu-01'), state: 'exited', signal: 'SIGTERM', endedBy: 'timeout', usage: { cpuUsec: 1_500_000, memoryPeakBytes: 3 * 1024 ** 3, oomKills: 0 } },
    { ...rank(1, 0, 'gpu-02'), state: 'exited', exitCode: 137, endedBy: 'oom', usage: { cpuUsec: 754_000_000, memoryPeakBytes: null, oomKills: 2 } },
    { ...rank(2, 0, 'gpu-03'), state: 'exited', exitCode: 0 },
  ];
  const text = jobText(v, undefined);
  t.match(text, /^state\s+timeout — rank 0 on gpu-01 was stopped at the job's time limit/m);
  t.match(text, /started 2026-01-01T00:00:01\.000Z   deadline 2026-01-01T00:00:03\.000Z/, 'its deadline');
  t.match(text, /RANK\s+UNIT\s+NODE\s+GPUS\s+TOPOLOGY\s+STATE\s+CPU\s+MEM PEAK\s+OOM KILLS/);
  t.match(text, /\n\s+0\s+0\s+gpu-01\s+0\s+s\.l\.gpu-01\s+exited \(SIGTERM, timeout\)\s+1\.5s\s+3\.0GiB\s+0\n/);
  t.match(text, /\n\s+1\s+0\s+gpu-02\s+0\s+s\.l\.gpu-02\s+exited \(code 137, oom\)\s+12m34s\s+-\s+2\n/, 'memory peak not measured: -, not 0');
  t.match(text, /\n\s+2\s+0\s+gpu-03\s+0\s+s\.l\.gpu-03\s+exited \(code 0\)\s+-\s+-\s+-\n/, 'a rank without usage: dashes');
  t.match(jobsTable([v], Date.parse('2026-01-01T00:01:00.000Z')), /svc-1\s+Training\s+default\s+0\s+timeout\s+3\s+3/, 'the list shows the state');
});

t.test('no rank measured: no usage columns', async (t) => {
  t.notMatch(jobText(view('Training', { kind: 'Training' }), undefined), /CPU|MEM PEAK|OOM/);
});

t.test('CPU time and bytes for people', async (t) => {
  t.same([0, 400_000, 95_000_000, 725_000_000, 11_220_000_000].map(cpuTimeText), ['0.0s', '0.4s', '95s', '12m05s', '3h07m']);
  t.same([0, 512, 3072, 1.5 * 1024 ** 3, 2 * 1024 ** 4].map(bytesText), ['0B', '512B', '3.0KiB', '1.5GiB', '2.0TiB']);
});

t.test('faults: which XID hit which rank, oldest first; none: no section', async (t) => {
  const v = view('Training', { kind: 'Training' });
  t.notMatch(jobText(v, undefined), /faults:/);
  v.faults = [
    { xid: 13, rank: 1, epoch: 2, node: 'gpu-02', gpu: 3, pid: 4242, processName: 'python', at: '2026-01-01T00:00:30.000Z', evidence: 'Xid 13 ...' },
    { xid: 31, rank: 0, epoch: 2, node: 'gpu-01', gpu: null, pid: 77, processName: '', at: '2026-01-01T00:00:31.000Z', evidence: 'Xid 31 ...' },
  ];
  t.match(
    jobText(v, undefined),
    /\nfaults:\n  XID 13 on rank 1 \(node gpu-02, GPU 3, pid 4242 python\) at 2026-01-01T00:00:30.000Z\n  XID 31 on rank 0 \(node gpu-01, GPU \?, pid 77\) at 2026-01-01T00:00:31.000Z\n/,
  );
});

t.test('a held job: `gantry job` says why and which nodes its prolog failed on; `gantry jobs` marks it held', async (t) => {
  const v: JobView = { ...view('Training', { kind: 'Training', ranks: 1 }), state: 'pending', ranks: [], held: 'prolog failed on n1, n2, n3: exit 1; held until released (gantry release svc-1)', prologFailedOn: ['n1', 'n2', 'n3'] };
  const text = jobText(v, undefined);
  t.match(text, /\nheld      prolog failed on n1, n2, n3: exit 1; held until released \(gantry release svc-1\)\n/);
  t.match(text, /\nprolog    failed on n1, n2, n3 \(not placed there again\)\n/);
  t.match(jobsTable([v], Date.parse('2026-01-01T00:01:00.000Z')), /\nsvc-1\s+Training\s+default\s+0\s+pending \(held\)\s/);
  const plain = jobText({ ...v, held: null, prologFailedOn: undefined }, undefined);
  t.notMatch(plain, /^held|^prolog/m, 'neither line for a job not held and without prolog failures');
});
