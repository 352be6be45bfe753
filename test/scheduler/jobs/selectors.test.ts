/** The job manager with node selectors: labels from node records, a waiting job's reasons, and a labels-only change rebuilding the tree. */
import t from 'tap';
import { ClusterModel, type Registration } from '../../../scheduler/cluster/index.js';
import { MemoryEventBus } from '../../../scheduler/events/index.js';
import { JobManager } from '../../../scheduler/jobs/index.js';
import { DEFAULT_QUEUE } from '../../../scheduler/queue/index.js';
import { MemoryStore } from '../../../scheduler/store/index.js';
import { FailedPreconditionError } from '../../../shared/errors/index.js';
import { emptyInventory, type GpuInfo } from '../../../shared/domain/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { jobYaml } from '../../builders/job.js';
import { gpuInfo } from '../../builders/inventory.js';

const gpu = (index: number): GpuInfo => gpuInfo(index);

function reg(name: string, labels: Record<string, string>, driver = '550.54.15'): Registration {
  const inv = emptyInventory(name);
  return { name, address: name, agentVersion: '1', inventory: { ...inv, firmware: { ...inv.firmware, driverVersion: driver, cudaVersion: '12.4' }, gpus: Array.from({ length: 8 }, (_, i) => gpu(i)) }, labels, verdicts: [], allowedUsers: [], allowRoot: false };
}

t.test('jobs start only on nodes their selector and versions allow; a labels-only change is seen', async (t) => {
  const cluster = new ClusterModel(60_000);
  const n1 = reg('n1', { pool: 'training' });
  const n2 = reg('n2', { pool: 'inference' }, '535.104.05');
  cluster.register(n1, 0);
  cluster.register(n2, 0);
  const starts: string[] = [];
  const jm = new JobManager(
    { levels: ['leaf', 'spine'], masterPortRange: { min: 29500, max: 29999 }, requeueInitialMs: 1000, requeueMaxMs: 10_000, cycleIntervalMs: 60_000, queues: { default: DEFAULT_QUEUE }, fairShareHalfLifeMs: 3_600_000, stopSlackMs: 1000 },
    {
      store: new MemoryStore(),
      cluster,
      events: new MemoryEventBus(),
      clock: { nowMs: () => 1_000 },
      log: createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false }),
      send: (node, msg) => {
        if (msg.startTask) starts.push(node);
        return true;
      },
    },
  );
  jm.load();
  const a = await jm.submit(jobYaml({ name: 'a', gpusPerRank: 8, nodeSelector: { pool: 'inference' } }), 'u');
  const b = await jm.submit(jobYaml({ name: 'b', gpusPerRank: 8, nodeSelector: { pool: ['inference'] }, accelerator: { minDriver: '500' } }), 'u');
  await jm.idle();
  t.equal(jm.get(a.id).state, 'placed');
  t.same(starts, ['n2'], 'a on the inference node');
  t.equal(jm.get(b.id).state, 'pending');
  t.same(
    jm.explain(b.id).reasons.filter((r) => r.level === 'node' && !r.reason.startsWith('none holds')),
    [
      { level: 'node', reason: 'fewer than 8 free healthy GPUs', count: 1 },
      { level: 'node', reason: 'label pool is training, not one of inference', count: 1 },
    ],
  );
  // n1 joins the inference pool: the same inventory object, only its labels change.
  cluster.register({ ...n1, labels: { pool: 'inference' } }, 10);
  jm.trigger('node registered');
  await jm.idle();
  t.equal(jm.get(b.id).state, 'placed', 'placed once n1 carries the label');
  t.same(starts, ['n2', 'n1']);
  await t.rejects(jm.submit(jobYaml({ name: 'c', nodeSelector: { pool: 'training' } }), 'u'), FailedPreconditionError, 'no node carries pool=training any more');
  await t.rejects(jm.submit(jobYaml({ name: 'c', nodeSelector: { pool: 'training' } }), 'u'), /2 nodes: label pool is inference, not training/);
  await t.rejects(jm.submit(jobYaml({ name: 'd', accelerator: { minDriver: '550.54.16' } }), 'u'), /1 node: driver 535\.104\.05 below 550\.54\.16\s+1 node: driver 550\.54\.15 below 550\.54\.16/);
});
