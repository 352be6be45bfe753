/**
 * Usage accounting's pure cores (issue 23): which entries a job's life writes (through the real
 * lifecycle), the report, the cluster utilisation (the four parts add up exactly), retention,
 * the node history, and the CLI's time flags and CSV.
 */
import t from 'tap';
import { usageKey, type JobRecord, type NodeUsageEntry, type RankUsageEntry } from '../../../shared/domain/index.js';
import { step, type LifecycleEvent, type RankReport } from '../../../scheduler/jobs/lifecycle.js';
import { clusterUtilisation, NodeHistory, pruneKeys, usageChanges, usageReport } from '../../../scheduler/usage/index.js';
import { parseWhen, usageCsv, usageTable } from '../../../shared/cli/usage.js';
import { jobRecord } from '../../builders/job.js';
import { rng } from '../../builders/prng.js';
import { storedNode } from '../../builders/records.js';

const ctxAt = (nowMs: number) => ({ nowMs, requeueInitialMs: 1000, requeueMaxMs: 10_000 });
const placedRank = (rank: number, node: string, gpus: number[]) => ({ rank, unit: 0, node, gpus, gpuUuids: gpus.map(() => ''), topologyAddress: node, state: 'starting' as const, exitCode: null, signal: null });
const rep = (rank: number, state: RankReport['state'], over: Partial<RankReport> = {}): LifecycleEvent => ({
  type: 'rank-reported',
  node: `n${rank + 1}`,
  report: { rank, epoch: 1, state, exitCode: state === 'exited' ? 0 : null, signal: null, message: '', ...over },
});

/** Steps a job through events, collecting every entry written, by key (the store's view). */
function run(job: JobRecord, events: Array<[number, LifecycleEvent]>): { job: JobRecord; store: Map<string, RankUsageEntry>; closed: RankUsageEntry[]; writes: number } {
  const store = new Map<string, RankUsageEntry>();
  const closed: RankUsageEntry[] = [];
  let writes = 0;
  for (const [at, ev] of events) {
    const out = step(job, ev, ctxAt(at));
    const u = usageChanges(job, out.job);
    for (const e of u.entries) store.set(usageKey(e), e);
    writes += u.entries.length;
    closed.push(...u.closed);
    job = out.job;
  }
  return { job, store, closed, writes };
}

const pending = (): JobRecord => jobRecord('train-1', { gpusPerRank: 2, ranks: 2, maxRetries: 2 }, { submittedMs: 1000, owner: 'alice' });
const placed: LifecycleEvent = { type: 'placed', ranks: [placedRank(0, 'n1', [0, 1]), placedRank(1, 'n2', [2, 3])] };

t.test('a gang that runs and exits: one entry per rank, placed → started → ended at the agent’s times', async (t) => {
  const r = run(pending(), [
    [5000, placed],
    [6000, rep(0, 'running', { startedMs: 5500 })],
    [6100, rep(1, 'running', { startedMs: 5600 })],
    [9000, rep(0, 'exited', { startedMs: 5500, finishedMs: 8900, usage: { cpuUsec: 123, memoryPeakBytes: 456, oomKills: 0 } })],
    [9100, rep(1, 'exited', { startedMs: 5600, finishedMs: 9050 })],
  ]);
  t.equal(r.job.state, 'succeeded');
  t.same(
    [...r.store.values()].map((e) => [e.rank, e.node, e.gpus, e.user, e.queue, e.submittedMs, e.placedMs, e.startMs, e.endMs, e.endSource, e.exitCode]),
    [
      [0, 'n1', [0, 1], 'alice', 'default', 1000, 5000, 5500, 8900, 'exit', 0],
      [1, 'n2', [2, 3], 'alice', 'default', 1000, 5000, 5600, 9050, 'exit', 0],
    ],
  );
  t.equal(r.store.get('r/train-1/000001/000000')!.cpuUsec, 123, 'what the agent measured: CPU time');
  t.equal(r.store.get('r/train-1/000001/000000')!.memoryPeakBytes, 456, 'and memory peak');
  t.same(r.closed.map((e) => e.rank), [0, 1], 'each rank closed once (the GPU-hour counter counts it once)');
  const again = usageChanges(r.job, { ...r.job, updatedMs: 99_999 });
  t.same(again.entries, [], 'a change that touches no rank writes nothing');
});

t.test('a requeue ends the running ranks at the stop; the late exit replaces that with the measured end; the next run is a new entry', async (t) => {
  const r = run(pending(), [
    [5000, placed],
    [6000, rep(0, 'running', { startedMs: 5500 })],
    [6100, rep(1, 'running', { startedMs: 5600 })],
    [7000, rep(1, 'exited', { startedMs: 5600, finishedMs: 6950, exitCode: 3 })],
  ]);
  t.equal(r.job.state, 'requeued');
  t.same([r.store.get('r/train-1/000001/000000')!.endMs, r.store.get('r/train-1/000001/000000')!.endSource], [7000, 'stopped'], 'rank 0 was stopped: ended when its job left its run');
  t.same([r.store.get('r/train-1/000001/000001')!.endMs, r.store.get('r/train-1/000001/000001')!.exitCode], [6950, 3], 'rank 1 ended by its own exit');
  const late = step(r.job, rep(0, 'exited', { startedMs: 5500, finishedMs: 7400, signal: 'SIGTERM', exitCode: null }), ctxAt(7500));
  const u = usageChanges(r.job, late.job);
  t.same(u.entries.map((e) => [e.rank, e.endMs, e.endSource, e.signal]), [[0, 7400, 'exit', 'SIGTERM']], 'the late exit: the measured end replaces the stop');
  t.same(u.closed, [], 'not closed again (counted at the stop)');
  const back = step(step(late.job, { type: 'backoff-over' }, ctxAt(20_000)).job, { type: 'placed', ranks: [placedRank(0, 'n3', [0, 1]), placedRank(1, 'n4', [0, 1])] }, ctxAt(20_000));
  const u2 = usageChanges(step(late.job, { type: 'backoff-over' }, ctxAt(20_000)).job, back.job);
  t.same(u2.entries.map((e) => usageKey(e)), ['r/train-1/000002/000000', 'r/train-1/000002/000001'], 'the next run: new keys (epoch 2), nothing of run 1 rewritten');
});

t.test('ranks dropped without an exit while the job is active (a replica replaced) end as lost, now', async (t) => {
  const job = jobRecord('svc-1', { kind: 'Inference', ranks: 1, gpusPerRank: 1, replicas: { min: 1, max: 4 } }, { on: [{ node: 'n1', gpus: [0] }, { node: 'n2', gpus: [0] }], state: 'running', epoch: 3, replicasTarget: 2 });
  job.ranks.forEach((r, u) => ((r.unit = u), (r.startedMs = 100)));
  const out = step(job, { type: 'node-lost', node: 'n2' }, ctxAt(5000));
  t.equal(out.job.state, 'running', 'the service keeps running on its other replica');
  const u = usageChanges(job, out.job);
  t.same(u.entries.map((e) => [e.rank, e.endMs, e.endSource]), [[1, 5000, 'lost']]);
  t.equal(u.closed.length, 1);
});

const entry = (o: Partial<RankUsageEntry>): RankUsageEntry => ({
  kind: 'rank', jobId: 'j-1', epoch: 1, rank: 0, user: 'alice', queue: 'default', node: 'n1', gpus: [0], submittedMs: 0, placedMs: 0, startMs: 0, endMs: 0, exitCode: null, signal: null, ...o,
});

t.test('the report: GPU time clipped to the window, jobs, waiting, grouped; a user sees only their own', async (t) => {
  const H = 3_600_000;
  const entries = [
    entry({ jobId: 'a-1', rank: 0, user: 'alice', queue: 'q1', node: 'n1', gpus: [0, 1], submittedMs: 0, startMs: 1 * H, endMs: 3 * H }),
    entry({ jobId: 'a-1', rank: 1, user: 'alice', queue: 'q1', node: 'n2', gpus: [0, 1], submittedMs: 0, startMs: 1 * H + 1000, endMs: 3 * H }),
    entry({ jobId: 'b-2', rank: 0, user: 'bob', queue: 'q2', node: 'n1', gpus: [2], submittedMs: 2 * H, startMs: 4 * H, endMs: 0 }),
    entry({ jobId: 'c-3', rank: 0, user: 'bob', queue: 'q2', node: 'n2', gpus: [3], submittedMs: 0, startMs: 0, endMs: 0 }),
  ];
  const w = { sinceMs: 2 * H, untilMs: 10 * H };
  const byUser = usageReport(entries, 'user', w, 6 * H);
  t.same(
    byUser.map((r) => [r.key, r.gpuMs, r.jobs, r.ranks, r.started, r.waitMsTotal]),
    [
      ['alice', 2 * H + 2 * H, 1, 2, 0, 0],
      ['bob', 2 * H, 1, 1, 1, 2 * H],
    ],
    'alice: 2 ranks × 2 GPUs × 1 h in the window (her start was before it: no waiting counted); bob: running until now, waited 2 h',
  );
  t.equal(byUser[0]!.gpuHours, 4);
  t.same(usageReport(entries, 'node', w, 6 * H).map((r) => [r.key, r.gpuMs]), [['n1', 2 * H + 2 * H], ['n2', 2 * H]]);
  t.same(usageReport(entries, 'job', w, 6 * H).map((r) => r.key), ['a-1', 'b-2'], 'a rank that never started has no GPU time');
  t.same(usageReport(entries, 'queue', w, 6 * H, 'bob').map((r) => [r.key, r.gpuMs]), [['q2', 2 * H]], 'only the user asked for');
  t.same(usageReport(entries, 'user', { sinceMs: 20 * H, untilMs: 30 * H }, 6 * H), [], 'nothing after now');
});

const node = (n: string, atMs: number, state: NodeUsageEntry['state'], gpus = 4): NodeUsageEntry => ({ kind: 'node', node: n, atMs, state, gpus });

t.test('cluster utilisation: a worked example, each part exact', async (t) => {
  const nodes = [node('n1', 0, 'up'), node('n1', 600, 'drained'), node('n1', 800, 'down'), node('n2', 100, 'up', 2), node('n2', 900, 'gone', 0)];
  const ranks = [
    entry({ node: 'n1', gpus: [0, 1], placedMs: 100, startMs: 200, endMs: 700 }), // reserved 100..200, allocated 200..700 (into the drain)
    entry({ node: 'n2', gpus: [0], placedMs: 300, startMs: 0, endMs: 400 }), // never started: reserved 300..400
  ];
  const u = clusterUtilisation(nodes, ranks, { sinceMs: 0, untilMs: 1000 }, 5000);
  t.same(u, {
    totalGpuMs: 4 * 1000 + 2 * 800,
    allocatedGpuMs: 2 * 500,
    reservedGpuMs: 2 * 100 + 1 * 100,
    downOrDrainedGpuMs: 2 * 100 + 4 * 100 + 4 * 200,
    idleGpuMs: 4 * 100 + 2 * 100 + 2 * 400 + (2 * 200 + 1 * 100 + 2 * 500), // n1 before the drain; n2 around its reserved GPU
    nodes: 2,
  });
  t.equal(u.allocatedGpuMs + u.reservedGpuMs + u.downOrDrainedGpuMs + u.idleGpuMs, u.totalGpuMs, 'the four add up to the total');
});

t.test('cluster utilisation: the four parts add up exactly over random histories and windows', async (t) => {
  const r = rng(23);
  for (let trial = 0; trial < 200; trial++) {
    const nodes: NodeUsageEntry[] = [];
    const ranks: RankUsageEntry[] = [];
    for (let n = 0; n < r.int(1, 4); n++) {
      let at = r.int(0, 100);
      for (let k = 0; k < r.int(1, 5); k++) {
        nodes.push(node(`n${n}`, at, r.pick(['up', 'up', 'drained', 'down', 'gone'] as const), r.int(0, 8)));
        at += r.int(1, 300);
      }
      for (let k = 0; k < r.int(0, 6); k++) {
        const placedMs = r.int(0, 900);
        const startMs = r.chance(0.8) ? placedMs + r.int(0, 50) : 0;
        const endMs = r.chance(0.8) ? Math.max(placedMs, startMs) + r.int(0, 400) : 0;
        ranks.push(entry({ node: `n${n}`, gpus: Array.from({ length: r.int(1, 8) }, (_, i) => i), placedMs, startMs, endMs }));
      }
    }
    const w = { sinceMs: r.int(0, 500), untilMs: r.int(500, 1500) };
    const u = clusterUtilisation(nodes, ranks, w, r.int(600, 1400));
    if (u.allocatedGpuMs + u.reservedGpuMs + u.downOrDrainedGpuMs + u.idleGpuMs !== u.totalGpuMs || [u.allocatedGpuMs, u.reservedGpuMs, u.downOrDrainedGpuMs, u.idleGpuMs].some((x) => x < 0)) {
      t.fail(`trial ${trial}: ${JSON.stringify(u)}`);
      return;
    }
  }
  t.pass('200 random histories: allocated + reserved + down-or-drained + idle = total, none negative');
});

t.test('retention: ended rank entries before the cutoff go; a node keeps its state at the cutoff', async (t) => {
  const entries = [
    entry({ jobId: 'old-1', endMs: 50 }),
    entry({ jobId: 'open-2', startMs: 10, endMs: 0 }),
    entry({ jobId: 'new-3', endMs: 150 }),
    node('n1', 10, 'up'),
    node('n1', 40, 'drained'),
    node('n1', 120, 'up'),
    node('n2', 20, 'up'),
    node('n2', 60, 'gone', 0),
  ];
  t.same(pruneKeys(entries, 100).sort(), ['n/n1/000000000000010', 'n/n2/000000000000020', 'n/n2/000000000000060', 'r/old-1/000001/000000'].sort());
});

t.test('node history: an entry when the state for accounting or the GPU count changes, and at deletion', async (t) => {
  const h = new NodeHistory();
  h.load([node('a', 5, 'up', 1), node('a', 1, 'down', 1)]);
  t.same(h.changes([storedNode('a')], 10), [], 'loaded: the latest entry is up with 1 GPU, as the record says');
  t.same(h.changes([storedNode('a', { schedulability: 'cordoned' })], 20), [node('a', 20, 'drained', 1)]);
  t.same(h.changes([storedNode('a', { schedulability: 'draining' })], 25), [], 'cordoned → draining: both drained');
  t.same(h.changes([storedNode('a', { connectivity: 'lost' })], 30), [node('a', 30, 'down', 1)]);
  t.same(h.changes([storedNode('b', { awaitingApproval: true })], 40), [node('b', 40, 'drained', 1)], 'a new node awaiting approval');
  t.same(h.deleted('b', 50), [node('b', 50, 'gone', 0)]);
  t.same(h.deleted('zz', 60), [], 'a node never seen: nothing');
});

t.test('gantry usage: time flags and CSV', async (t) => {
  const now = Date.parse('2026-12-07T12:00:00Z');
  t.equal(parseWhen('since', '7d', now), now - 7 * 86_400_000);
  t.equal(parseWhen('since', '90m', now), now - 90 * 60_000);
  t.equal(parseWhen('until', 'now', now), now);
  t.equal(parseWhen('since', '2026-12-01', now), Date.parse('2026-12-01T00:00:00Z'));
  t.equal(parseWhen('since', '2026-12-01T08:30:00Z', now), Date.parse('2026-12-01T08:30:00Z'));
  for (const bad of ['yesterday', '7', '7y', '2026-13-45', '', '-3d']) t.throws(() => parseWhen('since', bad, now), /--since: .* is not a time/, `refused: ${JSON.stringify(bad)}`);
  t.equal(
    usageCsv('user', [{ key: 'a,"b"', gpuHours: 1.5, gpuMs: 5_400_000, jobs: 2, ranks: 3, started: 1, waitMsTotal: 10, waitMsMean: 10, waitMsMax: 10, cpuUsec: 7 }]),
    'user,gpu_hours,gpu_ms,jobs,ranks,started,wait_ms_total,wait_ms_mean,wait_ms_max,cpu_usec\n"a,""b""",1.5,5400000,2,3,1,10,10,10,7\n',
  );
  t.equal(
    usageTable('queue', [
      { key: 'research', gpuHours: 12.5, gpuMs: 45_000_000, jobs: 3, ranks: 10, started: 2, waitMsTotal: 240_000, waitMsMean: 120_000, waitMsMax: 200_000, cpuUsec: 0 },
      { key: 'prod', gpuHours: 0.001, gpuMs: 3600, jobs: 1, ranks: 1, started: 0, waitMsTotal: 0, waitMsMean: 0, waitMsMax: 0, cpuUsec: 0 },
    ]),
    'QUEUE     GPU-HOURS  JOBS  RANKS  STARTED  MEAN-WAIT  MAX-WAIT\n' +
      'research     12.500     3     10        2       2.0m      3.3m\n' +
      'prod          0.001     1      1        0          -         -\n',
    'the table: GPU-hours to 3 places, waits in units people read',
  );
});
