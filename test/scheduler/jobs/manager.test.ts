import { DEFAULT_QUEUE } from '../../../scheduler/queue/index.js';
import t from 'tap';
import { ClusterModel, type Registration } from '../../../scheduler/cluster/index.js';
import { MemoryEventBus } from '../../../scheduler/events/index.js';
import type { JobEvent } from '../../../shared/events/index.js';
import { JobManager, type JobManagerOptions } from '../../../scheduler/jobs/index.js';
import { LmdbStore, MemoryStore, type StateStore } from '../../../scheduler/store/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { emptyInventory, type GpuInfo, type JobRecord, type JobState } from '../../../shared/domain/index.js';
import { parseJobSpec } from '../../../shared/jobspec/index.js';
import { createLogger } from '../../../shared/log/index.js';
import type { TaskCommandView } from '../../../shared/wire/index.js';
import { jobYaml } from '../../builders/job.js';
import { gpuInfo } from '../../builders/inventory.js';

const gpu = (index: number): GpuInfo => gpuInfo(index);

const reg = (name: string): Registration => ({
  name,
  address: name,
  agentVersion: '1',
  inventory: { ...emptyInventory(name), gpus: Array.from({ length: 8 }, (_, i) => gpu(i)) },
  labels: {},
  verdicts: [],
  allowedUsers: [],
  allowRoot: false,
});

function setup(store: StateStore = new MemoryStore(), over: Partial<JobManagerOptions> = {}): { jm: JobManager; cluster: ClusterModel; sent: Array<[string, TaskCommandView]>; bus: MemoryEventBus } {
  const cluster = new ClusterModel(60_000);
  cluster.register(reg('n1'), 0);
  const sent: Array<[string, TaskCommandView]> = [];
  const bus = new MemoryEventBus();
  const jm = new JobManager(
    { levels: ['leaf', 'spine'], masterPortRange: { min: 29500, max: 29999 }, requeueInitialMs: 1000, requeueMaxMs: 10_000, cycleIntervalMs: 60_000, queues: { default: DEFAULT_QUEUE }, fairShareHalfLifeMs: 3_600_000, stopSlackMs: 1000, ...over },
    {
      store,
      cluster,
      events: bus,
      clock: { nowMs: () => 1_000 },
      log: createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false }),
      send: (node, msg) => {
        sent.push([node, msg]);
        return true;
      },
    },
  );
  jm.load();
  return { jm, cluster, sent, bus };
}

/** An in-memory store that counts its commits. */
function countingStore(): { store: MemoryStore; commits: () => number } {
  const store = new MemoryStore();
  let n = 0;
  const commit = store.commit.bind(store);
  store.commit = (change) => {
    n++;
    return commit(change);
  };
  return { store, commits: () => n };
}

const wholeNode = (name: string): string => jobYaml({ name, ranks: 1, gpusPerRank: 8 });

t.test('a submit does not re-place pending jobs that did not fit when nothing was freed since', async (t) => {
  const { jm } = setup();
  const a = await jm.submit(wholeNode('a'), 'u');
  await jm.idle();
  t.equal(jm.get(a.id).state, 'placed', 'the first whole-node job takes the only node');
  const b = await jm.submit(wholeNode('b'), 'u');
  const c = await jm.submit(wholeNode('c'), 'u');
  await jm.idle();
  t.equal(jm.get(b.id).state, 'pending');
  t.equal(jm.get(c.id).state, 'pending');
  t.match(jm.explain(b.id).text, /./, 'the pending job says why it waits');
  const before = jm.placementsTried;
  const d = await jm.submit(wholeNode('d'), 'u');
  await jm.idle();
  t.equal(jm.placementsTried - before, 1, 'only the new job was tried: b and c failed at the same capacity');
  t.equal(jm.get(d.id).state, 'pending');
  t.match(jm.explain(b.id).text, /./, 'b keeps its explanation');

  await jm.cancel(a.id, 'make room');
  await jm.idle();
  t.equal(jm.get(b.id).state, 'pending', "a cancelled gang's GPUs stay taken until its ranks are reported gone");
  await jm.onTaskReport('n1', { jobId: a.id, rank: 0, epoch: jm.get(a.id).epoch, state: 'exited', exitCode: null, signal: 'SIGTERM', message: '' });
  await jm.idle();
  t.equal(jm.get(b.id).state, 'placed', 'once the gang is gone, the oldest pending job is tried again and placed');
  t.equal(jm.get(c.id).state, 'pending');
});

t.test('a node change makes pending jobs eligible again', async (t) => {
  const { jm, cluster, sent } = setup();
  const a = await jm.submit(wholeNode('a'), 'u');
  const b = await jm.submit(wholeNode('b'), 'u');
  await jm.idle();
  t.equal(jm.get(a.id).state, 'placed');
  t.equal(jm.get(b.id).state, 'pending');
  cluster.register(reg('n2'), 10);
  jm.trigger('node registered');
  await jm.idle();
  t.equal(jm.get(b.id).state, 'placed', 'placed on the new node');
  t.same(sent.filter(([, m]) => m.startTask).map(([n]) => n).sort(), ['n1', 'n2'], 'one start per node');

  // Cordon and uncordon change a node's inputs: a pending job is tried again after each change.
  const c = await jm.submit(wholeNode('c'), 'u');
  await jm.idle();
  const before = jm.placementsTried;
  cluster.setSchedulability('n2', 'cordoned', 'test');
  jm.trigger('node schedulability');
  await jm.idle();
  t.equal(jm.placementsTried - before, 1, 'tried again after a node changed');
  jm.trigger('timer');
  await jm.idle();
  t.equal(jm.placementsTried - before, 1, 'not tried again when nothing changed');
  t.equal(jm.get(c.id).state, 'pending');
});

t.test('submissions coalesce into few cycles, each job tried; a submit replies once its job is stored', async (t) => {
  const store = new MemoryStore();
  const { jm } = setup(store);
  await jm.idle();
  const before = jm.cycles;
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) {
    const j = await jm.submit(wholeNode(`q${i}`), 'u');
    t.ok(store.getJob(j.id), `${j.id} is stored when accepted`);
    ids.push(j.id);
  }
  await jm.idle();
  const cycles = jm.cycles - before;
  t.ok(cycles >= 1 && cycles <= 2, `20 submissions back to back took ${cycles} cycle(s), not one each`);
  t.equal(jm.get(ids[0]!).state, 'placed', 'the first takes the node');
  for (const id of ids.slice(1)) t.notMatch(jm.explain(id).text, /not tried yet/, `${id} was tried`);
});

t.test('concurrent submissions on LMDB: each reply only once its job is committed, all in few commits', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-jm-'));
  const store = LmdbStore.open(dir);
  t.teardown(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const { jm } = setup(store);
  const committed: string[] = [];
  const replies = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const j = await jm.submit(wholeNode(`c${i}`), 'u');
      if (store.getJob(j.id)) committed.push(j.id);
      return j.id;
    }),
  );
  t.equal(committed.length, 50, 'every job was readable from LMDB when its submit resolved');
  t.equal(new Set(replies).size, 50, 'distinct ids');
  await jm.stop();
  t.equal(store.jobCount(), 50);
  t.equal(store.highestJobNumber(), 50, 'numbered 1..50');
});

t.test('a restart loads unfinished jobs at once and the finished ones after, serving both meanwhile', async (t) => {
  const store = new MemoryStore();
  const stored = (id: string, state: JobState): JobRecord => ({
    id, spec: parseJobSpec(wholeNode(id.replace(/-\d+$/, ''))), owner: 'u', state, message: '', attempt: 0, epoch: 0,
    submittedMs: Number(id.split('-')[1]), updatedMs: 1, startedMs: 0, finishedMs: 0, requeueAtMs: 0, ranks: [], masterPort: 0,
  });
  await store.commit({ jobs: [stored('x-1', 'succeeded'), stored('y-2', 'pending'), stored('z-7', 'cancelled')] });
  const { jm } = setup(store);
  t.equal(jm.get('x-1').state, 'succeeded', 'a finished job is served before it is loaded');
  t.same(jm.list().map((j) => j.id), ['x-1', 'y-2', 'z-7'], 'and listed');
  t.same(jm.list({ state: 'cancelled' }).map((j) => j.id), ['z-7']);
  t.same(jm.list({ state: 'pending' }).map((j) => j.id), ['y-2']);
  const n = await jm.submit(wholeNode('n'), 'u');
  t.equal(n.id, 'n-8', 'new ids continue after the highest stored one, finished or not');
  jm.start();
  await new Promise((r) => setTimeout(r, 50));
  await jm.stop();
  t.same(jm.list().map((j) => j.id), ['x-1', 'y-2', 'z-7', 'n-8'], 'all loaded after start');
  t.equal(jm.get('z-7').state, 'cancelled');
  t.throws(() => jm.get('nope-1'));
});

t.test("a gang's running reports share writes; the state change to running is committed at once", async (t) => {
  const { store, commits } = countingStore();
  const { jm, cluster, sent } = setup(store);
  for (const n of ['n2', 'n3', 'n4']) cluster.register(reg(n), 0);
  const g = await jm.submit(jobYaml({ name: 'g', ranks: 4, gpusPerRank: 8 }), 'u');
  await jm.idle();
  const placed = jm.get(g.id);
  t.equal(placed.state, 'placed');
  t.equal(sent.filter(([, m]) => m.startTask).length, 4, 'four starts sent');
  const report = (rank: number) => jm.onTaskReport(placed.ranks[rank]!.node, { jobId: g.id, rank, epoch: placed.epoch, state: 'running', exitCode: null, signal: null, message: '' });
  const before = commits();
  await Promise.all([report(0), report(1), report(2)]);
  t.same(jm.get(g.id).ranks.map((r) => r.state), ['running', 'running', 'running', 'starting'], 'applied once the reports resolve');
  t.equal(jm.get(g.id).state, 'starting', 'placed, then starting once a rank is heard from (no event, written behind with the reports)');
  await jm.idle();
  t.equal(commits() - before, 1, 'three reports, one write');
  t.same(store.getJob(g.id)!.ranks.map((r) => r.state), ['running', 'running', 'running', 'starting'], 'the latest record is durable once idle');
  await report(3);
  t.equal(jm.get(g.id).state, 'running', 'the last report makes the gang running');
  t.equal(store.getJob(g.id)!.state, 'running', 'committed');
  await jm.stop();
});

t.test("one node's reports in a row do not each wait for a write: they share the paced writes", async (t) => {
  const { store, commits } = countingStore();
  // A long interval: reports that each waited for their write would take 8 writes, one a second.
  const { jm } = setup(store, { writeBehindIntervalMs: 1000 });
  const g = await jm.submit(jobYaml({ name: 'g8', ranks: 8, gpusPerRank: 1 }), 'u');
  await jm.idle();
  const placed = jm.get(g.id);
  t.equal(new Set(placed.ranks.map((r) => r.node)).size, 1, 'all 8 ranks on one node');
  const before = commits();
  // The agent's stream: each report handled after the one before it resolved.
  for (const r of placed.ranks.slice(0, 7)) await jm.onTaskReport(r.node, { jobId: g.id, rank: r.rank, epoch: placed.epoch, state: 'running', exitCode: null, signal: null, message: '' });
  t.same(jm.get(g.id).ranks.map((r) => r.state), [...Array(7).fill('running'), 'starting'], 'all applied');
  await jm.idle();
  t.ok(commits() - before <= 2, `7 reports in a row, ${commits() - before} write(s)`);
  t.same(store.getJob(g.id)!.ranks.map((r) => r.state), [...Array(7).fill('running'), 'starting'], 'and durable once idle');
  await jm.stop();
});

t.test('every unit gets its own MASTER_PORT on its rank 0 node: shards and replicas sharing a node never share one', async (t) => {
  const { jm, sent } = setup();
  const batch = await jm.submit(jobYaml({ kind: 'Batch', name: 'shards', shards: 3, gpusPerRank: 1 }), 'u');
  const service = await jm.submit(jobYaml({ kind: 'Inference', name: 'svc', ranks: 1, gpusPerRank: 2, replicas: { min: 2, max: 2 } }), 'u');
  const gang = await jm.submit(jobYaml({ name: 'gang', ranks: 1, gpusPerRank: 1 }), 'u');
  await jm.idle();
  const jobs = [batch, service, gang].map((j) => jm.get(j.id));
  t.same(jobs.map((j) => j.state), ['placed', 'placed', 'placed'], 'all three on the one node');
  const heads = jobs.flatMap((j) => j.ranks.filter((r, i, all) => all.findIndex((x) => x.unit === r.unit) === i).map((r) => ({ job: j.id, unit: r.unit, node: r.node, port: r.masterPort })));
  t.equal(heads.length, 6, '3 shards + 2 replicas + 1 gang');
  t.ok(heads.every((h) => h.node === 'n1' && typeof h.port === 'number' && h.port >= 29500 && h.port <= 29999), 'each unit has a port from the range');
  t.equal(new Set(heads.map((h) => h.port)).size, 6, 'six units on one node, six ports');
  // What each rank is told is its unit's port.
  const starts = sent.filter(([, m]) => m.startTask).map(([, m]) => m.startTask!);
  t.equal(starts.length, 6);
  for (const s of starts) {
    const j = jobs.find((x) => x.id === s.jobId)!;
    const r = j.ranks.find((x) => x.rank === s.rank)!;
    t.equal(s.env!.MASTER_PORT, String(r.masterPort), `${s.jobId} rank ${s.rank}: MASTER_PORT of its unit`);
  }
  t.equal(jobs[0]!.masterPort, jobs[0]!.ranks[0]!.masterPort, "the job's masterPort is its unit 0's");
});

t.test('service ports: an overlapping service waits beside a running one and its stopping ranks, then starts', async (t) => {
  const { jm } = setup();
  const svcYaml = (name: string, port: number) =>
    jobYaml({ kind: 'Inference', name, ranks: 1, gpusPerRank: 1, replicas: { min: 1, max: 4 }, slo: { p99Ms: 100, metric: 'latency_seconds', port } });
  const a = await jm.submit(svcYaml('a', 9400), 'u');
  await jm.idle();
  t.equal(jm.get(a.id).state, 'placed');
  const b = await jm.submit(svcYaml('b', 9403), 'u');
  const c = await jm.submit(svcYaml('c', 9404), 'u');
  await jm.idle();
  t.equal(jm.get(c.id).state, 'placed', 'a disjoint block shares the node');
  t.equal(jm.get(b.id).state, 'pending', 'free GPUs, but an overlapping block');
  const e = jm.explain(b.id);
  // b was tried before c started (submission order), and is not tried again until capacity grows.
  t.match(e.text, /\n\s*1 node: service ports 9403–9406 overlap job a-\d+'s \(9400–9403\)\n/, 'ExplainJob says why');
  t.ok(e.reasons.some((r) => r.level === 'node' && /^service ports 9403–9406 overlap/.test(r.reason) && r.count === 1), 'a counted node reason');
  await jm.cancel(c.id, 'out of the way');
  await jm.cancel(a.id, 'out of the way');
  await jm.idle();
  t.equal(jm.get(b.id).state, 'pending', "cancelled services' ranks still hold their ports while stopping");
  t.match(jm.explain(b.id).text, /overlap stopping ranks of job a-\d+'s \(9400–9403\) and stopping ranks of job c-\d+'s/);
  for (const j of [a, c]) await jm.onTaskReport('n1', { jobId: j.id, rank: 0, epoch: jm.get(j.id).epoch, state: 'exited', exitCode: null, signal: 'SIGTERM', message: '' });
  await jm.idle();
  t.equal(jm.get(b.id).state, 'placed', 'once they are gone it starts');
  t.same(jm.get(b.id).ranks.map((r) => r.node), ['n1'], 'on the only node');
});

t.test('service ports: a block overlapping the MASTER_PORT range is refused at submit', async (t) => {
  const { jm } = setup();
  try {
    await jm.submit(jobYaml({ kind: 'Inference', name: 'svc', ranks: 1, gpusPerRank: 1, replicas: { min: 1, max: 8 }, slo: { p99Ms: 100, metric: 'latency_seconds', port: 29495 } }), 'u');
    t.fail('refused');
  } catch (e) {
    t.match(e, { code: 'INVALID_ARGUMENT', field: 'slo.port', message: /29495–29502 .*MASTER_PORT range 29500–29999/ });
  }
  t.same(jm.list(), [], 'nothing stored');
});

const jobEvents = (bus: MemoryEventBus, id: string): JobEvent[] => bus.events.filter((e): e is JobEvent => e.kind === 'job' && e.job === id);

t.test('a gang through the manager: placed, starting, requeued by a failed rank with its cause as data, placed again under a new epoch', async (t) => {
  const { jm, cluster, bus, sent } = setup(new MemoryStore(), { requeueInitialMs: 0 });
  cluster.register(reg('n2'), 0);
  const g = await jm.submit(jobYaml({ name: 'g', ranks: 2, gpusPerRank: 8, maxRetries: 1 }), 'u');
  await jm.idle();
  const first = jm.get(g.id);
  t.match(first, { state: 'placed', epoch: 1, message: 'placed on 2 node(s)' });
  const on = (rank: number) => first.ranks[rank]!.node;
  await jm.onTaskReport(on(0), { jobId: g.id, rank: 0, epoch: 1, state: 'running', exitCode: null, signal: null, message: '' });
  t.equal(jm.get(g.id).state, 'starting', 'a rank heard from');
  await jm.onTaskReport(on(1), { jobId: g.id, rank: 1, epoch: 1, state: 'exited', exitCode: 3, signal: null, message: '' });
  await jm.idle();
  t.match(jm.get(g.id), { state: 'pending', attempt: 1, message: 'retry 1 of 1', cause: { kind: 'rank-exited', rank: 1, node: on(1), exitCode: 3, signal: null } });
  t.same(
    sent.filter(([, m]) => m.stopTask).map(([n, m]) => [n, m.stopTask!.rank, m.stopTask!.reason]),
    [[on(0), 0, `rank 1 on ${on(1)} exited with code 3`]],
    'the rank still running is stopped, with the cause',
  );
  t.equal(jm.displayMessage(jm.get(g.id)).includes('retry'), false, 'pending after a failure: the display says why it waits now');
  await jm.onTaskReport(on(0), { jobId: g.id, rank: 0, epoch: 1, state: 'exited', exitCode: null, signal: 'SIGTERM', message: '' });
  await jm.idle();
  t.match(jm.get(g.id), { state: 'placed', epoch: 2, attempt: 1 });
  t.equal(jm.get(g.id).cause, undefined, 'placed: the cause is cleared');
  const events = jobEvents(bus, g.id);
  t.same(events.map((e) => e.type), ['submitted', 'placed', 'requeued', 'pending', 'placed'], 'every transition once; none for starting');
  t.same(events[2]!.cause, { kind: 'rank-exited', rank: 1, node: on(1), exitCode: 3, signal: null }, 'the requeued event carries the cause');
  t.equal(events[2]!.message, `rank 1 on ${on(1)} exited with code 3; requeued (retry 1 of 1)`);
  t.equal(events[1]!.cause, undefined, 'other events carry none');
  await jm.stop();
});

t.test('a preempted gang waits again saying why it left: its cause, not its message text, decides', async (t) => {
  const { jm, bus } = setup();
  const low = await jm.submit(jobYaml({ name: 'low', ranks: 1, gpusPerRank: 8, priority: 0 }), 'u');
  await jm.idle();
  t.equal(jm.get(low.id).state, 'placed');
  const high = await jm.submit(jobYaml({ name: 'high', ranks: 1, gpusPerRank: 8, priority: 50 }), 'u');
  await jm.idle();
  t.equal(jm.get(low.id).state, 'requeued', 'preempted: requeued at once');
  jm.trigger('timer');
  await jm.idle();
  const victim = jm.get(low.id);
  t.match(victim, { state: 'pending', attempt: 0, cause: { kind: 'preempted', by: high.id, priority: 50, queue: 'default' } });
  t.match(victim.message, new RegExp(`^preempted by ${high.id} \\(priority 50, queue default\\); 0\\.00 GPU-hours`));
  t.match(jm.displayMessage(victim), new RegExp(`^preempted by ${high.id} .*; waiting: `), 'why it left, then why it waits');
  t.same(jobEvents(bus, low.id).map((e) => e.type), ['submitted', 'placed', 'requeued', 'pending']);
  // The same words without the cause (a record from before causes): not read back from the text.
  t.notMatch(jm.displayMessage({ ...victim, cause: undefined }), /^preempted/);
  await jm.stop();
});

t.test("a time-limited gang through the manager: StartTask carries the epoch's deadline and limits; a rank stopped at it ends the job in timeout", async (t) => {
  const { jm, cluster, bus, sent } = setup(new MemoryStore(), { requeueInitialMs: 0 });
  cluster.register(reg('n2'), 0);
  const g = await jm.submit(jobYaml({ name: 'tl', ranks: 2, gpusPerRank: 8, timeLimit: 90, resources: { memoryGiBPerRank: 16, maxProcesses: 1000 } }), 'u');
  await jm.idle();
  const placed = jm.get(g.id);
  t.match(placed, { state: 'placed', epoch: 1, deadlineMs: 1_000 + 90_000 }, 'the deadline: the placing cycle (the clock: 1000) + 90 s');
  const starts = sent.filter(([, m]) => m.startTask).map(([, m]) => m.startTask!);
  t.equal(starts.length, 2);
  for (const s of starts) t.match(s, { deadlineMs: 91_000, resources: { memoryBytes: 16 * 1024 ** 3, maxProcesses: 1000, cpuBinding: 'numa' } }, `rank ${s.rank}: StartTask`);
  const on = (rank: number) => placed.ranks[rank]!.node;
  for (const rank of [0, 1]) await jm.onTaskReport(on(rank), { jobId: g.id, rank, epoch: 1, state: 'running', exitCode: null, signal: null, message: '' });
  const usage = { cpuUsec: 90_000_000, memoryPeakBytes: 1024 ** 3, oomKills: 0 };
  await jm.onTaskReport(on(1), { jobId: g.id, rank: 1, epoch: 1, state: 'exited', exitCode: null, signal: 'SIGTERM', message: 'deadline', endedBy: 'timeout', usage });
  await jm.idle();
  t.match(jm.get(g.id), { state: 'timeout', attempt: 0, cause: { kind: 'time-limit', rank: 1, node: on(1), limitSeconds: 90 }, ranks: [{ state: 'running' }, { state: 'exited', endedBy: 'timeout', usage }] });
  t.same(sent.filter(([, m]) => m.stopTask).map(([n, m]) => [n, m.stopTask!.rank, m.stopTask!.reason]), [[on(0), 0, 'time limit reached']], 'the other rank is stopped');
  const events = jobEvents(bus, g.id);
  t.same(events.map((e) => e.type), ['submitted', 'placed', 'running', 'timeout']);
  t.same(events[3]!.cause, { kind: 'time-limit', rank: 1, node: on(1), limitSeconds: 90 }, 'the timeout event carries the cause');
  // The stopped rank's exit comes after: kept on the finished job, with what it used.
  await jm.onTaskReport(on(0), { jobId: g.id, rank: 0, epoch: 1, state: 'exited', exitCode: null, signal: 'SIGTERM', message: '', endedBy: 'stopped', usage: { cpuUsec: 1, memoryPeakBytes: 2, oomKills: 0 } });
  await jm.idle();
  t.match(jm.get(g.id).ranks[0], { state: 'exited', endedBy: 'stopped', usage: { cpuUsec: 1, memoryPeakBytes: 2, oomKills: 0 } });
  t.equal(jm.get(g.id).state, 'timeout', 'still timeout');
  t.same(jm.list({ state: 'timeout' }).map((j) => j.id), [g.id], 'listed by its state');
  // Its GPUs are free once both ranks are gone: the next whole-cluster job is placed.
  const next = await jm.submit(jobYaml({ name: 'next', ranks: 2, gpusPerRank: 8 }), 'u');
  await jm.idle();
  t.equal(jm.get(next.id).state, 'placed');
  t.equal(jm.get(next.id).deadlineMs, undefined, 'no time limit: no deadline');
  await jm.stop();
});

t.test('jobs.queueDepthJobs: a job beyond the depth says so, and is tried once the queue moves', async (t) => {
  const { jm } = setup(new MemoryStore(), { queueDepthJobs: 2 });
  const a = await jm.submit(wholeNode('a'), 'u');
  await jm.idle();
  const b = await jm.submit(wholeNode('b'), 'u');
  const c = await jm.submit(wholeNode('c'), 'u');
  const d = await jm.submit(wholeNode('d'), 'u');
  await jm.idle();
  t.equal(jm.get(a.id).state, 'placed');
  t.notMatch(jm.explain(b.id).text, /beyond the queue depth/, 'b (first in the queue) was tried');
  t.match(jm.explain(d.id).text, /^not tried this cycle: beyond the queue depth \(the first 2 pending jobs/, 'd was not');
  await jm.cancel(a.id, 'make room');
  await jm.onTaskReport('n1', { jobId: a.id, rank: 0, epoch: jm.get(a.id).epoch, state: 'exited', exitCode: null, signal: 'SIGTERM', message: '' });
  await jm.idle();
  t.equal(jm.get(b.id).state, 'placed', 'b takes the freed node');
  t.notMatch(jm.explain(c.id).text, /beyond the queue depth/, 'c is within the depth now and was tried');
  t.match(jm.explain(d.id).text, /beyond the queue depth/, 'd was third when that cycle ran');
  const e = await jm.submit(wholeNode('e'), 'u');
  await jm.idle();
  t.notMatch(jm.explain(d.id).text, /beyond the queue depth/, "the next cycle (e's submit) reaches d");
  t.match(jm.explain(e.id).text, /beyond the queue depth/, 'and not e');
});
