/**
 * The job's account against the nodes' allow-lists, in the job manager: the submit check (a job
 * no known node would run is refused naming runAs; with no node known yet it waits), placement
 * only where the agent allows the account, StartTask carrying it, an allow-list change seen by
 * waiting jobs, and an agent's refusal failing the job at once with cause run-as-refused.
 */
import t from 'tap';
import { ClusterModel, type Registration } from '../../../scheduler/cluster/index.js';
import { MemoryEventBus } from '../../../scheduler/events/index.js';
import { JobManager } from '../../../scheduler/jobs/index.js';
import { checkRunAsAllowed, RUN_AS_LISTED } from '../../../scheduler/jobs/admission.js';
import { DEFAULT_QUEUE } from '../../../scheduler/queue/index.js';
import { MemoryStore } from '../../../scheduler/store/index.js';
import { emptyInventory, type GpuInfo } from '../../../shared/domain/index.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import type { JobEvent } from '../../../shared/events/index.js';
import { createLogger } from '../../../shared/log/index.js';
import type { StartTaskView } from '../../../shared/wire/index.js';
import { jobYaml } from '../../builders/job.js';
import { gpuInfo } from '../../builders/inventory.js';

const gpu = (index: number): GpuInfo => gpuInfo(index);

function reg(name: string, allowedUsers: string[], allowRoot = false): Registration {
  return { name, address: name, agentVersion: '1', inventory: { ...emptyInventory(name), gpus: Array.from({ length: 8 }, (_, i) => gpu(i)) }, labels: {}, verdicts: [], allowedUsers, allowRoot };
}

function setup(cluster: ClusterModel): { jm: JobManager; starts: Array<[string, StartTaskView]>; bus: MemoryEventBus } {
  const starts: Array<[string, StartTaskView]> = [];
  const bus = new MemoryEventBus();
  const jm = new JobManager(
    { levels: ['leaf', 'spine'], masterPortRange: { min: 29500, max: 29999 }, requeueInitialMs: 1000, requeueMaxMs: 10_000, cycleIntervalMs: 60_000, queues: { default: DEFAULT_QUEUE }, fairShareHalfLifeMs: 3_600_000, stopSlackMs: 1000 },
    {
      store: new MemoryStore(),
      cluster,
      events: bus,
      clock: { nowMs: () => 1_000 },
      log: createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false }),
      send: (node, msg) => {
        if (msg.startTask) starts.push([node, msg.startTask]);
        return true;
      },
    },
  );
  jm.load();
  return { jm, starts, bus };
}

const refusedBy = (f: () => void): InvalidArgumentError => {
  try {
    f();
  } catch (e) {
    if (e instanceof InvalidArgumentError) return e;
    throw e;
  }
  throw new Error('not refused');
};

t.test('checkRunAsAllowed: refused only when nodes are known and none allows the account', async (t) => {
  const nodes = [{ allowedUsers: ['nobody', 'svc'], allowRoot: false }, { allowedUsers: ['alice', 'root'], allowRoot: false }];
  checkRunAsAllowed('alice', nodes);
  checkRunAsAllowed('nobody', nodes);
  checkRunAsAllowed('', nodes);
  checkRunAsAllowed('', []);
  checkRunAsAllowed('bob', []);
  t.pass("an allowed account, '' (the agent's own) and any account before a node is known are accepted");
  const e = refusedBy(() => checkRunAsAllowed('bob', nodes));
  t.equal(e.field, 'runAs', 'names runAs');
  t.match(e.message, /no node's agent runs ranks as "bob", so the job could never start; the 2 node\(s\) allow: alice, nobody, svc \(runner\.allowedUsers/, 'says which accounts the nodes allow (not root: no node allows it)');
  const root = refusedBy(() => checkRunAsAllowed('root', nodes));
  t.match(root.message, /root is listed but runner\.allowRoot is off wherever it is/);
  checkRunAsAllowed('root', [...nodes, { allowedUsers: ['root'], allowRoot: true }]);
  const old = refusedBy(() => checkRunAsAllowed('alice', [{}]));
  t.match(old.message, /the 1 node\(s\) allow: none /, 'a record from before allow-lists allows nobody');
  const many = Array.from({ length: RUN_AS_LISTED + 5 }, (_, i) => `u${String(i).padStart(2, '0')}`);
  const long = refusedBy(() => checkRunAsAllowed('bob', [{ allowedUsers: many, allowRoot: false }]));
  t.match(long.message, new RegExp(`allow: ${many.slice(0, RUN_AS_LISTED).join(', ')} and 5 more `), 'a bounded list');
});

t.test('jobs run only where the account is allowed; StartTask carries it; the submit refuses what no node allows', async (t) => {
  const cluster = new ClusterModel(60_000);
  const { jm, starts } = setup(cluster);
  cluster.register(reg('n1', ['nobody']), 0);
  cluster.register(reg('n2', ['alice', 'nobody']), 0);
  await t.rejects(jm.submit(jobYaml({ name: 'bob', runAs: 'bob' }), 'u'), { name: 'InvalidArgumentError', field: 'runAs', message: /"bob".*allow: alice, nobody/ }, 'no node allows bob');
  t.notOk(jm.list().some((j) => j.id.startsWith('bob-')), 'nothing stored');
  const a = await jm.submit(jobYaml({ name: 'a', gpusPerRank: 8, runAs: 'alice' }), 'u');
  const b = await jm.submit(jobYaml({ name: 'b', gpusPerRank: 8, runAs: 'alice' }), 'u');
  t.equal(a.id, 'a-1', 'a refused submit takes no id');
  jm.trigger('test');
  await jm.idle();
  t.equal(jm.get(a.id).state, 'placed');
  t.same(starts.map(([n, s]) => [n, s.jobId, s.runAs]), [['n2', a.id, 'alice']], 'on n2, the node that allows alice, as alice');
  t.equal(jm.get(b.id).state, 'pending', 'n2 is full and n1 does not allow alice');
  t.same(
    jm.explain(b.id).reasons.filter((r) => r.level === 'node' && !r.reason.startsWith('none holds')),
    [
      { level: 'node', reason: 'fewer than 8 free healthy GPUs', count: 1 },
      { level: 'node', reason: 'runAs alice not allowed on the node', count: 1 },
    ],
    'explain counts the refusing node',
  );
  // n1's agent comes back allowing alice: the same inventory, only the allow-list changes.
  cluster.register({ ...reg('n1', ['alice', 'nobody']), inventory: cluster.get('n1')!.inventory }, 10);
  jm.trigger('node registered');
  await jm.idle();
  t.equal(jm.get(b.id).state, 'placed', 'placed once n1 allows alice');
  t.same(starts.map(([n]) => n), ['n2', 'n1']);
});

t.test("an agent's refusal fails the job at once with cause run-as-refused: no retry used", async (t) => {
  const cluster = new ClusterModel(60_000);
  cluster.register(reg('n1', ['alice']), 0);
  const { jm, starts, bus } = setup(cluster);
  const j = await jm.submit(jobYaml({ name: 'r', ranks: 2, gpusPerRank: 4, runAs: 'alice', maxRetries: 3 }), 'u');
  await jm.idle();
  t.equal(jm.get(j.id).state, 'placed');
  t.equal(starts.length, 2);
  const epoch = jm.get(j.id).epoch;
  await jm.onTaskReport('n1', { jobId: j.id, rank: 1, epoch, state: 'running', exitCode: null, signal: null, message: '' });
  const message = 'runAs: "alice" is not one of the agent\'s allowed users (runner.allowedUsers: nobody)';
  await jm.onTaskReport('n1', { jobId: j.id, rank: 0, epoch, state: 'failed-to-start', exitCode: null, signal: null, message, refusal: 'run-as-refused' });
  await jm.idle();
  const failed = jm.get(j.id);
  t.equal(failed.state, 'failed');
  t.equal(failed.attempt, 0, 'no retry used');
  t.equal(failed.epoch, epoch, 'not placed again');
  t.same(failed.cause, { kind: 'run-as-refused', rank: 0, node: 'n1', account: 'alice', error: message });
  t.equal(failed.message, `node n1 refused to run rank 0 as "alice": ${message}; failed without a retry: it would meet the same refusal`, 'the message names the node and the account');
  const ev = bus.events.filter((e): e is JobEvent => e.kind === 'job' && e.job === j.id).at(-1)!;
  t.match(ev, { type: 'failed', cause: { kind: 'run-as-refused', node: 'n1', account: 'alice' } }, 'the failed event carries the cause');
  t.same(jm.get(j.id).ranks.map((r) => r.state), ['exited', 'running'], 'rank 1 is being stopped');
  await jm.onTaskReport('n1', { jobId: j.id, rank: 1, epoch, state: 'exited', exitCode: null, signal: 'SIGTERM', message: '' });
  // The same failure without the code is an ordinary failure to start: requeued, a retry used.
  const k = await jm.submit(jobYaml({ name: 'k', gpusPerRank: 8, runAs: 'alice', maxRetries: 3 }), 'u');
  jm.trigger('test');
  await jm.idle();
  await jm.onTaskReport('n1', { jobId: k.id, rank: 0, epoch: jm.get(k.id).epoch, state: 'failed-to-start', exitCode: null, signal: null, message: 'workdir: "/x" is not an existing directory on this node' });
  await jm.idle();
  t.match(jm.get(k.id), { state: 'requeued', attempt: 1, cause: { kind: 'rank-failed-to-start' } });
});
