/**
 * The locality wait (issue 22): through planCycle on a small NVL72-like tree (racks of 4 trays × 4
 * GPUs under one leaf). Waits while under its bound, spreads after it, aging, the cap, the
 * reservation of a draining rack against a smaller job, and the config keys. Then through the job
 * manager's cycles: a waiting gang is tried again on every timer cycle although no capacity changed
 * (time alone ends its wait), and spreads once its bound has passed.
 */
import t from 'tap';
import { planOn } from '../../builders/plan-cycle.js';
import { ClusterModel, type Registration } from '../../../scheduler/cluster/index.js';
import { MemoryEventBus } from '../../../scheduler/events/index.js';
import { JobManager } from '../../../scheduler/jobs/index.js';
import { MemoryStore } from '../../../scheduler/store/index.js';
import { emptyInventory } from '../../../shared/domain/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { gpuInfo } from '../../builders/inventory.js';
import { loadConfig } from '../../../shared/config/index.js';
import { schedulerConfigSchema, schedulerEnv } from '../../../scheduler/config.js';
import { LOCALITY_WAIT_DEFAULTS, LOCALITY_WAIT_OFF, LocalityClock, localityBoundMs, minimalLevel, type LocalityWaitEntry, type LocalityWaitPolicy } from '../../../scheduler/jobs/locality-wait.js';
import { planCycle, type PlanInput } from '../../../scheduler/jobs/planner.js';
import { requestFromJobSpec } from '../../../scheduler/placement/index.js';
import { DEFAULT_QUEUE } from '../../../scheduler/queue/index.js';
import type { JobRecord } from '../../../shared/domain/index.js';
import { cluster, hgxNode, type TestCluster } from '../../builders/cluster.js';
import { jobRecord, jobYaml } from '../../builders/job.js';

const M = 60_000;
const H = 60 * M;
const NOW = 100 * H;
const four = [0, 1, 2, 3];

/** Racks a, b, c of 4 trays × 4 GPUs (nvlink domains) under leaf-0. */
function nvl(): TestCluster {
  const nodes = [];
  for (const r of ['a', 'b', 'c']) for (let i = 0; i < 4; i++) nodes.push(hgxNode(`${r}${i}`, { nvlink: `nvl-${r}`, leaf: 'leaf-0' }, { gpus: 4 }));
  return cluster(['nvlink', 'leaf'], nodes);
}

/** A running job on whole trays, stopped by its deadline (null: no time limit). */
function running(id: string, trays: string[], deadlineMs: number | null): JobRecord {
  return jobRecord(id, { ranks: trays.length, gpusPerRank: 4, ...(deadlineMs !== null ? { timeLimit: '10h' } : {}) }, {
    on: trays.map((node) => ({ node, gpus: four })),
    startedMs: NOW - H,
    ...(deadlineMs !== null ? { deadlineMs } : {}),
  });
}

/** The waiting gang: 3 trays × 4 GPUs, rack preferred (its minimal level: nvlink). */
const gang = (extra: Partial<JobRecord> = {}) => jobRecord('gang-1', { ranks: 3, gpusPerRank: 4, topology: { preferred: 'nvlink' } }, { submittedMs: NOW - 5 * M, ...extra });

/**
 * a0,a1 run until NOW+30m; b0-b2 until NOW+2h; rack c is full until NOW+3h. Free: a2, a3, b3: the
 * gang fits now only across the leaf.
 */
function busy(limits = true): { c: TestCluster; active: JobRecord[] } {
  const c = nvl();
  const at = (ms: number): number | null => (limits ? NOW + ms : null);
  const active = [running('ra-1', ['a0', 'a1'], at(30 * M)), running('rb-2', ['b0', 'b1', 'b2'], at(2 * H)), running('rc-3', ['c0', 'c1', 'c2', 'c3'], at(3 * H))];
  for (const j of active) c.snapshot.reserve({ ranks: j.ranks.map((r) => ({ nodeId: c.tree.nodeId(r.node), gpus: r.gpus })) });
  return { c, active };
}

function plan(c: TestCluster, pending: JobRecord[], active: JobRecord[], policy: Partial<LocalityWaitPolicy> | null, since: Record<string, number> = {}, extra: Partial<PlanInput> = {}) {
  // The active jobs' GPUs are marked used where the cluster is built.
  return planOn(c, {
    nowMs: NOW,
    pending,
    active,
    reserveActive: false,
    ...(policy ? { localityWait: { policy: { ...LOCALITY_WAIT_OFF, ...policy }, sinceMs: (id: string) => since[id] } } : {}),
    ...extra,
  });
}

t.test('the minimal level comes from the empty cluster, cached per tree', async (t) => {
  const c = nvl();
  const req = (ranks: number) => requestFromJobSpec(jobRecord('x-1', { ranks, gpusPerRank: 4, topology: { preferred: 'nvlink' } }).spec);
  t.equal(c.tree.levels[minimalLevel(c.tree, req(1))], 'node');
  t.equal(c.tree.levels[minimalLevel(c.tree, req(3))], 'nvlink');
  t.equal(c.tree.levels[minimalLevel(c.tree, req(5))], 'leaf', 'more than a rack: the leaf');
  t.equal(minimalLevel(c.tree, req(13)), -1, 'larger than the cluster: none');
  t.equal(localityBoundMs({ ...LOCALITY_WAIT_OFF, maxWaitMs: 10 * M, agingPerGpuMs: M, agingPerQueuedJobMs: 2 * M }, 12, 3), 16 * M, '10m + 12 × 1m − 3 × 2m');
  t.equal(localityBoundMs({ ...LOCALITY_WAIT_OFF, maxWaitMs: M, agingPerQueuedJobMs: M }, 12, 30), 0, 'never below 0');
  // A negative per-GPU aging (wait-reserve-by-size's 25,600 s − 100 s per GPU): large gangs wait less.
  const bySize = { ...LOCALITY_WAIT_OFF, mode: 'reserve' as const, maxWaitMs: 25_600_000, agingPerGpuMs: -100_000 };
  for (const [gpus, s] of [[8, 24_800], [32, 22_400], [128, 12_800], [255, 100], [256, 0], [512, 0]] as const) {
    t.equal(localityBoundMs(bySize, gpus, 0), s * 1000, `negative aging: ${gpus} GPUs wait ${s} s at most`);
  }
});

interface Case {
  name: string;
  policy: Partial<LocalityWaitPolicy> | null;
  since?: number;
  submittedMs?: number;
  /** Pending jobs besides the gang (the queue's length, for aging). */
  queued?: number;
  /** false: the running jobs have no time limits. */
  limits?: boolean;
  /** 'start': the gang spreads now; 'wait': it waits (until `until`). */
  want: 'start' | 'wait';
  until?: number;
  heldGpus?: number;
}

const cases: Case[] = [
  { name: 'off (the default): it spreads at once', policy: null, want: 'start' },
  { name: 'mode off named: it spreads at once', policy: { mode: 'off' }, want: 'start' },
  { name: 'bounded, first cycle: it waits its bound', policy: { mode: 'bounded', maxWaitMs: 10 * M }, want: 'wait', until: NOW + 10 * M },
  { name: 'bounded, still under the bound', policy: { mode: 'bounded', maxWaitMs: 10 * M }, since: NOW - 9 * M, want: 'wait', until: NOW + M },
  { name: 'bounded, past the bound: it spreads', policy: { mode: 'bounded', maxWaitMs: 10 * M }, since: NOW - 10 * M, want: 'start' },
  { name: 'aging by size: 12 GPUs × 1m on a 0 base still wait', policy: { mode: 'bounded', maxWaitMs: 0, agingPerGpuMs: M }, since: NOW - 11 * M, want: 'wait', until: NOW + M },
  { name: 'negative aging by size: 12 GPUs × −1m off a 20m base wait 8m', policy: { mode: 'bounded', maxWaitMs: 20 * M, agingPerGpuMs: -M }, since: NOW - 5 * M, want: 'wait', until: NOW + 3 * M },
  { name: 'negative aging by size: 12 GPUs × −1m off a 10m base spread at once', policy: { mode: 'bounded', maxWaitMs: 10 * M, agingPerGpuMs: -M }, want: 'start' },
  { name: 'aging by queue: a long queue shortens the wait', policy: { mode: 'bounded', maxWaitMs: 10 * M, agingPerQueuedJobMs: M }, since: NOW - 5 * M, queued: 6, want: 'start' },
  { name: 'the cap counts from pending: it spreads even under its bound', policy: { mode: 'bounded', maxWaitMs: 2 * H, capMs: H }, since: NOW - 5 * M, submittedMs: NOW - H, want: 'start' },
  { name: 'under the cap and the bound: it waits until the earlier', policy: { mode: 'bounded', maxWaitMs: 2 * H, capMs: H }, since: NOW - 5 * M, submittedMs: NOW - 50 * M, want: 'wait', until: NOW + 10 * M },
  { name: 'reserve: it holds the rack that drains first', policy: { mode: 'reserve', maxWaitMs: 40 * M }, want: 'wait', until: NOW + 40 * M, heldGpus: 4 },
  { name: 'reserve: a rack due after its deadline is not waited for', policy: { mode: 'reserve', maxWaitMs: 10 * M }, want: 'start' },
  { name: 'reserve, no time limits to go by: it waits, holding nothing', policy: { mode: 'reserve', maxWaitMs: 10 * M }, limits: false, want: 'wait', until: NOW + 10 * M, heldGpus: 0 },
];

for (const k of cases) {
  t.test(k.name, async (t) => {
    const { c, active } = busy(k.limits ?? true);
    // Queued jobs that fit nowhere (a whole leaf's worth), behind the gang.
    const queued = Array.from({ length: k.queued ?? 0 }, (_, i) => jobRecord(`big-${i + 10}`, { ranks: 12, gpusPerRank: 4 }, { submittedMs: NOW }));
    const p = plan(c, [gang(k.submittedMs !== undefined ? { submittedMs: k.submittedMs } : {}), ...queued], active, k.policy, k.since !== undefined ? { 'gang-1': k.since } : {});
    const start = p.starts.find((s) => s.job.id === 'gang-1');
    if (k.want === 'start') {
      t.ok(start, 'started');
      t.equal(start?.placements[0]?.level, 'leaf', 'across the leaf');
      t.same(p.localityWaits, []);
      return;
    }
    t.notOk(start, 'not started');
    const w = p.localityWaits[0];
    t.equal(w?.jobId, 'gang-1');
    t.equal(w?.level, 'nvlink');
    t.equal(w?.untilMs, k.until, 'spreads at its deadline');
    t.equal(w?.sinceMs, k.since ?? NOW, 'the wait counts from its first cycle');
    if (k.heldGpus !== undefined) t.equal(w?.heldGpus, k.heldGpus, 'GPUs held');
    t.same(p.waiting.get('gang-1')?.reasons, [{ level: 'nvlink', reason: 'waiting for its minimal domain', count: 1 }]);
    t.match(p.waiting.get('gang-1')?.text, /fits now only across a leaf; waits for a nvlink domain/);
  });
}

t.test('reserve: the draining rack is held against smaller jobs that would outlast it; jobs that end before may use it', async (t) => {
  // The gang's future placement in rack a: a0, a1 (ra-1's, free at NOW+30m) and one free tray,
  // which it holds now; the other free trays (a3, b3) stay open.
  const policy = { mode: 'reserve' as const, maxWaitMs: 40 * M };
  const trays = (limit: string) => [1, 2, 3].map((i) => jobRecord(`tray-${i + 1}`, { gpusPerRank: 4, timeLimit: limit }, { submittedMs: NOW + i }));
  const on = (c: TestCluster, p: ReturnType<typeof plan>) => p.starts.map((s) => s.placements[0]?.ranks.map((r) => c.tree.nodeName(r.nodeId)).join()).sort();
  {
    const { c, active } = busy();
    const p = plan(c, [gang(), ...trays('1h')], active, policy);
    const w = p.localityWaits[0];
    t.equal(w?.dueMs, NOW + 30 * M, 'rack a is due when ra-1 ends');
    t.equal(w?.heldGpus, 4, 'one free tray of rack a held');
    const held = ['a2', 'a3'].find((n) => !on(c, p).includes(n));
    t.equal(on(c, p).length, 2, 'two 1-hour jobs start on the trays not held');
    t.ok(held && !on(c, p).includes(held), `the held tray (${held}) stays free`);
    t.match(p.waiting.get('tray-4')?.text, /does not fit/, 'the third 1-hour job waits: it would outlast the hold');
  }
  {
    const { c, active } = busy();
    const p = plan(c, [gang(), ...trays('20m')], active, policy);
    t.same(on(c, p), ['a2', 'a3', 'b3'], 'jobs that end before rack a is due backfill there');
  }
  {
    const { c, active } = busy();
    const p = plan(c, [gang(), ...trays('1h')], active, { mode: 'bounded', maxWaitMs: 40 * M });
    t.same(on(c, p), ['a2', 'a3', 'b3'], 'bounded holds nothing: the 1-hour jobs refill rack a');
    t.equal(p.localityWaits[0]?.heldGpus, 0);
  }
});

t.test('a gang that fits at its minimal level, topology-blind jobs and single GPUs never wait', async (t) => {
  const c = nvl();
  const policy = { mode: 'reserve' as const, maxWaitMs: H };
  const p = plan(c, [gang(), jobRecord('blind-2', { ranks: 6, gpusPerRank: 4 }), jobRecord('one-3', { gpusPerRank: 1, topology: { preferred: 'nvlink' } })], [], policy);
  t.same(p.starts.map((s) => [s.job.id, s.placements[0]?.level]).sort(), [['blind-2', 'leaf'], ['gang-1', 'nvlink'], ['one-3', 'node']]);
  t.same(p.localityWaits, []);
});

t.test("the clock keeps a gang's wait start while it pends, beyond the queue depth too; forgets it at a start or when it no longer pends", async (t) => {
  const clock = new LocalityClock({ ...LOCALITY_WAIT_OFF, mode: 'bounded' });
  const entry = (jobId: string, sinceMs: number): LocalityWaitEntry => ({ jobId, sinceMs, untilMs: sinceMs + 5 * M, level: 'rack', heldGpus: 0, dueMs: null });
  const since = (id: string) => clock.input()!.sinceMs(id);
  const pending = new Set(['g-1', 'g-2', 'g-3']);
  const plan = (waiting: string[], waits: LocalityWaitEntry[], starts: string[] = []) => ({ waiting: new Map(waiting.map((id) => [id, {}])), localityWaits: waits, starts: starts.map((id) => ({ job: { id } })) });
  clock.after(plan(['g-1', 'g-2', 'g-3'], [entry('g-1', NOW), entry('g-2', NOW), entry('g-3', NOW)]), (id) => pending.has(id));
  // Next cycle: g-1 beyond the depth (in no list), g-2 started, g-3 cancelled.
  pending.delete('g-3');
  clock.after(plan([], [], ['g-2']), (id) => pending.has(id));
  t.equal(since('g-1'), NOW, 'beyond the queue depth, still pending: its wait start is kept');
  t.equal(since('g-2'), undefined, 'started: forgotten (a requeue counts afresh)');
  t.equal(since('g-3'), undefined, 'no longer pending: forgotten');
  t.notOk(clock.waiting('g-1'), 'not waiting in the last plan');
  // Back within the depth, still unable to use its minimal domain: the planner is given the old start.
  clock.after(plan(['g-1'], [entry('g-1', since('g-1')!)]), (id) => pending.has(id));
  t.equal(since('g-1'), NOW);
  t.ok(clock.waiting('g-1'));
});

t.test('config: placement.localityWait loads with documented defaults; bad values are refused naming the key', async (t) => {
  const load = (sets: string[]) => loadConfig(schedulerConfigSchema, { env: {}, envBindings: schedulerEnv, sets });
  t.same(load([]).placement.localityWait, LOCALITY_WAIT_DEFAULTS, 'the schema and the planner agree on the defaults');
  t.same(LOCALITY_WAIT_DEFAULTS, { mode: 'reserve', maxWaitMs: 25_600_000, agingPerGpuMs: -100_000, agingPerQueuedJobMs: 0, capMs: 14_400_000 }, 'the defaults the NVL72 trade-off decided (reserve by size, a 4 h cap)');
  const c = load(['placement.localityWait.mode=reserve', 'placement.localityWait.maxWaitMs=600000', 'placement.localityWait.agingPerGpuMs=1000', 'placement.localityWait.agingPerQueuedJobMs=500', 'placement.localityWait.capMs=7200000']);
  t.same(c.placement.localityWait, { mode: 'reserve', maxWaitMs: 600_000, agingPerGpuMs: 1000, agingPerQueuedJobMs: 500, capMs: 7_200_000 });
  t.throws(() => load(['placement.localityWait.mode=sometimes']), /placement\.localityWait\.mode/);
  t.throws(() => load(['placement.localityWait.maxWaitMs=-1']), /placement\.localityWait\.maxWaitMs/);
  t.throws(() => load(['placement.localityWait.capMs=1.5']), /placement\.localityWait\.capMs/);
  t.throws(() => load(['placement.localityWait.agingPerGpuMs=99999999']), /placement\.localityWait\.agingPerGpuMs/);
  t.equal(load(['placement.localityWait.agingPerGpuMs=-100000']).placement.localityWait.agingPerGpuMs, -100_000, 'a negative per-GPU aging: large gangs spread sooner');
  t.throws(() => load(['placement.localityWait.agingPerGpuMs=-3600001']), /placement\.localityWait\.agingPerGpuMs/);
  t.throws(() => load(['placement.localityWait.waitForever=true']), /placement\.localityWait/);
});

const reg = (name: string, leaf: string): Registration => {
  const inventory = { ...emptyInventory(name), gpus: Array.from({ length: 8 }, (_, i) => gpuInfo(i)) };
  inventory.topology = { ...inventory.topology, domains: { leaf } };
  return { name, address: name, agentVersion: '1', inventory, labels: {}, verdicts: [], allowedUsers: [], allowRoot: false };
};

t.test('a gang waits for its minimal leaf on every timer cycle, then spreads after its bound', async (t) => {
  let now = 1_000_000;
  const cluster = new ClusterModel(3_600_000);
  cluster.register(reg('n1', 'leaf-a'), now);
  cluster.register(reg('n2', 'leaf-a'), now);
  cluster.register(reg('n3', 'leaf-b'), now);
  const jm = new JobManager(
    {
      levels: ['leaf'],
      masterPortRange: { min: 29500, max: 29999 },
      requeueInitialMs: 1000,
      requeueMaxMs: 10_000,
      cycleIntervalMs: 3_600_000,
      queues: { default: DEFAULT_QUEUE },
      fairShareHalfLifeMs: 3_600_000,
      stopSlackMs: 1000,
      localityWait: { mode: 'bounded', maxWaitMs: 10_000, agingPerGpuMs: 0, agingPerQueuedJobMs: 0, capMs: 3_600_000 },
    },
    { store: new MemoryStore(), cluster, events: new MemoryEventBus(), clock: { nowMs: () => now }, log: createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false }), send: () => true },
  );
  jm.load();
  const first = await jm.submit(jobYaml({ name: 'first', ranks: 1, gpusPerRank: 8, nodeSelector: { 'gantry.io/node': 'n1' }, timeLimit: '1h' }), 'u');
  await jm.idle();
  t.equal(jm.get(first.id).state, 'placed');
  // A job wanting the whole cluster, ahead of the gang: it holds the reservation (when `first` ends),
  // after which jobs that failed at this capacity are skipped, unless time alone may change their answer.
  const huge = await jm.submit(jobYaml({ name: 'huge', ranks: 3, gpusPerRank: 8 }), 'u');
  now += 1;
  const gang = await jm.submit(jobYaml({ name: 'gang', ranks: 2, gpusPerRank: 8, topology: { preferred: 'leaf' }, timeLimit: '10m' }), 'u');
  await jm.idle();
  t.equal(jm.get(gang.id).state, 'pending', 'it fits only across leaves: it waits');
  t.match(jm.explain(gang.id).text, /waits for a leaf domain \(its minimal level\)/);
  const tried = jm.placementsTried;
  now += 5_000;
  jm.trigger('timer');
  await jm.idle();
  t.equal(jm.placementsTried - tried, 1, 'tried again on a timer cycle with no capacity change');
  t.equal(jm.get(gang.id).state, 'pending', 'still under its bound');
  now += 5_000;
  jm.trigger('timer');
  await jm.idle();
  t.equal(jm.get(gang.id).state, 'placed', 'its bound (10 s from the first cycle) has passed: it spreads');
  t.same(jm.get(gang.id).ranks.map((r) => r.node).sort(), ['n2', 'n3']);
  t.equal(jm.get(huge.id).state, 'pending');
  await jm.stop();
});
