/**
 * One bad node never stops the cluster (issue 18, point 2): junk inventories are refused at the
 * boundary with INVALID_ARGUMENT naming the field and leave no record; a poisoned record already in
 * the store (written straight into LMDB, as one stored before the bounds was) is left out of
 * placement with its reason, across a restart, while jobs go on starting on the other nodes; and
 * `gantry node delete` removes it.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadGantryProto, type PbInventory, type SchedulerMessage__Output } from '../../shared/proto/index.js';
import { emptyInventory, type NodeRecord } from '../../shared/domain/index.js';
import { inventoryToPb } from '../../shared/wire/index.js';
import { LmdbStore } from '../../scheduler/store/index.js';
import { gantryCli, httpGet, jobView, listNodes, startAgent, startScheduler, tempDir, waitFor } from '../harness/cluster.js';
import { gpuInfo } from '../builders/inventory.js';
import { jobYaml } from '../builders/job.js';

const { proto } = loadGantryProto();

/** Registers `inventory` as node `name` on a raw agent stream; the status the stream ends with (or the Registered reply). */
async function rawRegister(address: string, name: string, inventory: PbInventory): Promise<grpc.ServiceError | SchedulerMessage__Output> {
  const client = new proto.gantry.v1.AgentService(address, grpc.credentials.createInsecure());
  try {
    const call = client.Connect();
    return await new Promise((resolve) => {
      call.on('data', (m: SchedulerMessage__Output) => {
        resolve(m);
        call.cancel();
      });
      call.on('error', resolve);
      call.write({ register: { nodeName: name, agentVersion: 'raw', inventory } });
    });
  } finally {
    client.close();
  }
}

function junk(gpus: number, edit: (inv: PbInventory) => void = () => {}): PbInventory {
  const inv = emptyInventory('junk');
  for (let i = 0; i < gpus; i++) inv.gpus.push(gpuInfo(i));
  const pb = inventoryToPb(inv);
  edit(pb);
  return pb;
}

const metric = async (port: number, name: string): Promise<number> => {
  const line = (await httpGet(`http://127.0.0.1:${port}/metrics`)).split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
};

t.test('one bad node never stops the cluster', async (t) => {
  const dataDir = tempDir(t, 'gantry-bad-node-');
  let sched = await startScheduler(t, { dataDir });
  const agents = [await startAgent(t, 'node-a', sched.address), await startAgent(t, 'node-b', sched.address)];
  await waitFor('both agents ready', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready').length === 2);

  t.test("the issue's junk inventories get INVALID_ARGUMENT naming the field, and no record", async (t) => {
    const cases: Array<[string, PbInventory, RegExp]> = [
      ['GPU index 4e9', junk(8, (pb) => void (pb.gpus![3]!.index = 4e9)), /register\.inventory\.gpus\[3\]\.index/],
      ['memory 2^63', junk(2, (pb) => void (pb.gpus![1]!.memoryMib = 2 ** 63)), /register\.inventory\.gpus\[1\]\.memoryMib/],
      ['20,008 GPUs', junk(0, (pb) => void (pb.gpus = Array.from({ length: 20_008 }, (_, i) => ({ ...junk(1).gpus![0]!, index: i })))), /register\.inventory\.gpus: lists 20008 entries; at most 1024/],
      ['1,108 GPUs', junk(0, (pb) => void (pb.gpus = Array.from({ length: 1108 }, (_, i) => ({ ...junk(1).gpus![0]!, index: i % 1024 })))), /register\.inventory\.gpus: lists 1108 entries/],
    ];
    for (const [what, inv, field] of cases) {
      const out = await rawRegister(sched.address, 'junk-node', inv);
      t.equal((out as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT, `${what}: INVALID_ARGUMENT`);
      t.match((out as grpc.ServiceError).details, field, `${what}: names the field`);
    }
    t.notOk((await listNodes(sched.address)).some((n) => n.name === 'junk-node'), 'no node record was stored');
  });

  t.test('a poisoned record in the store is left out across a restart; jobs start on the other nodes', async (t) => {
    await sched.child.stop();
    const store = LmdbStore.open(dataDir);
    const model = store.getNode('node-a')!;
    const poisoned: NodeRecord = {
      ...model,
      name: 'node-0-poisoned',
      address: '127.0.0.9',
      inventory: { ...model.inventory, gpus: Array.from({ length: 1108 }, (_, i) => gpuInfo(i)) },
    };
    await store.putNodes([poisoned]);
    await store.close();
    sched = await startScheduler(t, { dataDir, grpcPort: sched.grpcPort });
    const line = await sched.child.waitForLog(/left out of placement/, 15_000);
    t.equal(line.node, 'node-0-poisoned', 'the scheduler logs which node');
    t.match(line.reason, /inventory\.gpus: 1108 GPUs; at most 1024/, 'and why');
    await waitFor('both agents back', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready' && n.name.startsWith('node-')).length >= 2);
    t.equal(await metric(sched.metricsPort, 'gantry_scheduler_nodes_excluded'), 1, 'gantry_scheduler_nodes_excluded counts it');
    t.equal(await metric(sched.metricsPort, 'gantry_scheduler_node_exclusions_total'), 1);

    // A gang over both good nodes (16 GPUs) starts: submit and cycles work.
    const spec = path.join(tempDir(t, 'gantry-bad-node-spec-'), 'job.yaml');
    writeFileSync(spec, jobYaml({ name: 'gang', ranks: 2, gpusPerRank: 8, command: ['sleep', '30'] }));
    const sub = await gantryCli(['submit', spec, '--scheduler', sched.address]);
    t.equal(sub.code, 0, `submit accepted: ${sub.stderr}`);
    const id = /gang-\d+/.exec(sub.stdout)![0];
    const running = await waitFor('the gang running', async () => {
      const j = await jobView(sched.address, id);
      return j.state === 'running' ? j : undefined;
    }, 30_000);
    t.same([...new Set(running.ranks.map((r) => r.node))].sort(), ['node-a', 'node-b'], 'placed on the good nodes only');
    const big = path.join(path.dirname(spec), 'big.yaml');
    writeFileSync(big, jobYaml({ name: 'big', ranks: 3, gpusPerRank: 8 }));
    const refused = await gantryCli(['submit', big, '--scheduler', sched.address]);
    t.not(refused.code, 0, 'a job that needs the bad node as well is refused');
    t.match(refused.stderr, /could not fit even if every registered node were free/, 'for capacity, not for an inconsistent topology');
    t.notMatch(sched.child.output(), /topology is inconsistent/, 'no cycle or submit failed on the topology');

    const del = await gantryCli(['node', 'delete', 'node-0-poisoned', '--scheduler', sched.address]);
    t.equal(del.code, 0, `gantry node delete removes it: ${del.stderr}`);
    t.notOk((await listNodes(sched.address)).some((n) => n.name === 'node-0-poisoned'), 'its record is gone');
    await waitFor('the exclusion cleared', async () => (await metric(sched.metricsPort, 'gantry_scheduler_nodes_excluded')) === 0, 10_000);
    t.equal((await jobView(sched.address, id)).state, 'running', 'the gang runs on');
    await gantryCli(['cancel', id, '--scheduler', sched.address]);
    for (const a of agents) t.equal(a.child.proc.exitCode, null, `${a.name} still up`);
  });
});
