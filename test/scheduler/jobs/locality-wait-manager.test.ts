/**
 * The locality wait through the job manager's cycles: a waiting gang is tried again on every
 * timer cycle although no capacity changed (time alone ends its wait), and spreads once its
 * bound has passed, counted from the cycle that first found it able to spread.
 */
import t from 'tap';
import { ClusterModel, type Registration } from '../../../scheduler/cluster/index.js';
import { MemoryEventBus } from '../../../scheduler/events/index.js';
import { JobManager } from '../../../scheduler/jobs/index.js';
import { DEFAULT_QUEUE } from '../../../scheduler/queue/index.js';
import { MemoryStore } from '../../../scheduler/store/index.js';
import { emptyInventory } from '../../../shared/domain/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { gpuInfo } from '../../builders/inventory.js';
import { jobYaml } from '../../builders/job.js';

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
