/** `gantry job` text: an SLO service shows each replica's service port (README "Service ports"). */
import t from 'tap';
import { jobText } from '../../../shared/cli/job-format.js';
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
