import t from 'tap';
import { pickMasterPort, rankEnv, requeueDelayMs, unitIndex } from '../../../scheduler/jobs/index.js';
import { emptyInventory, type JobRecord, type NodeRecord, type RankRecord } from '../../../shared/domain/index.js';
import { parseJobSpec } from '../../../shared/jobspec/index.js';

function node(name: string, address: string, vendor: 'nvidia' | 'amd' = 'nvidia'): NodeRecord {
  const inventory = emptyInventory(name);
  inventory.gpus = [0, 1].map((i) => ({
    index: i, uuid: `${name}-uuid-${i}`, name: 'X', vendor, memoryMiB: 1, pciBusId: '', serial: '', vbiosVersion: '', inforomVersion: '',
    gspFirmwareVersion: '', numaNode: 0, nvlinkDomain: '', linkRow: [], migEnabled: false,
  }));
  return { name, address, connectivity: 'ready', schedulability: 'schedulable', schedulabilityReason: '', health: 'ok', verdicts: [], inventory, labels: {}, agentVersion: '', registeredMs: 0, lastSeenMs: 0, reportsReceived: 0 };
}

const rank = (r: number, unit: number, n: string, gpus: number[]): RankRecord => ({
  rank: r, unit, node: n, gpus, gpuUuids: gpus.map((g) => `${n}-uuid-${g}`), topologyAddress: `spine.leaf.${n}`, state: 'starting', exitCode: null, signal: null,
});

function job(ranks: RankRecord[], specText: string): JobRecord {
  return { id: 'j-1', spec: parseJobSpec(specText), owner: '', state: 'starting', message: '', attempt: 0, epoch: 3, submittedMs: 0, updatedMs: 0, startedMs: 0, finishedMs: 0, requeueAtMs: 0, ranks, masterPort: 29501 };
}

t.test('training gang: world, local ranks, master on rank 0 node', async (t) => {
  const nodes = new Map([['a', node('a', '10.0.0.1')], ['b', node('b', '10.0.0.2')]]);
  const j = job([rank(0, 0, 'a', [0]), rank(1, 0, 'a', [1]), rank(2, 0, 'b', [0]), rank(3, 0, 'b', [1])], 'kind: Training\nname: j\nranks: 4\ncommand: [x]\nenv: {FOO: bar}\n');
  const envs = j.ranks.map((r) => rankEnv(j, r, (n) => nodes.get(n)));
  t.same(envs.map((e) => e.RANK), ['0', '1', '2', '3']);
  t.same(envs.map((e) => e.LOCAL_RANK), ['0', '1', '0', '1']);
  t.ok(envs.every((e) => e.WORLD_SIZE === '4' && e.LOCAL_WORLD_SIZE === '2' && e.MASTER_ADDR === '10.0.0.1' && e.MASTER_PORT === '29501'));
  t.equal(envs[2]!.CUDA_VISIBLE_DEVICES, 'b-uuid-0', 'GPU UUIDs, not indices');
  t.equal(envs[3]!.GANTRY_TOPOLOGY_ADDR, 'spine.leaf.b');
  t.equal(envs[0]!.FOO, 'bar', 'the spec env is kept');
  t.equal(envs[0]!.GANTRY_JOB_EPOCH, '3');
});

t.test('replicas are their own worlds; AMD gets ROCR_VISIBLE_DEVICES', async (t) => {
  const nodes = new Map([['a', node('a', '10.0.0.1', 'amd')], ['b', node('b', '10.0.0.2', 'amd')]]);
  const j = job([rank(0, 0, 'a', [0, 1]), rank(1, 1, 'b', [0, 1])], 'kind: Inference\nname: j\ngpusPerRank: 2\nreplicas: {min: 2, max: 2}\ncommand: [x]\n');
  const e1 = rankEnv(j, j.ranks[1]!, (n) => nodes.get(n));
  t.equal(e1.RANK, '0', 'rank within its replica');
  t.equal(e1.WORLD_SIZE, '1');
  t.equal(e1.MASTER_ADDR, '10.0.0.2', "the replica's own rank 0");
  t.equal(e1.ROCR_VISIBLE_DEVICES, 'b-uuid-0,b-uuid-1');
  t.equal(e1.CUDA_VISIBLE_DEVICES, undefined);
  t.equal(e1.GANTRY_UNIT, '1');
});

t.test('an SLO service: replica i is told to serve on slo.port + i, on every rank of the replica', async (t) => {
  const nodes = new Map([['a', node('a', '10.0.0.1')]]);
  // Two replicas of two ranks each, both on node a: they must not share a port.
  const j = job([rank(0, 0, 'a', [0]), rank(1, 0, 'a', [1]), rank(2, 1, 'a', [0]), rank(3, 1, 'a', [1])],
    'kind: Inference\nname: j\nranks: 2\nreplicas: {min: 2, max: 2}\nslo: {p99Ms: 250, metric: m, port: 9400}\ncommand: [x]\n');
  const envs = j.ranks.map((r) => rankEnv(j, r, (n) => nodes.get(n)));
  t.same(envs.map((e) => e.GANTRY_SERVICE_PORT), ['9400', '9400', '9401', '9401']);
  t.same(envs.map((e) => [e.RANK, e.WORLD_SIZE, e.LOCAL_RANK, e.LOCAL_WORLD_SIZE]), [['0', '2', '0', '2'], ['1', '2', '1', '2'], ['0', '2', '0', '2'], ['1', '2', '1', '2']], 'ranks counted within their replica');
  // The index a gang's starts share gives each rank the same environment as a lookup of its own.
  const units = unitIndex(j);
  t.same(j.ranks.map((r) => rankEnv(j, r, (n) => nodes.get(n), units)), envs, 'one shared unit index, the same environments');
  const plain = job([rank(0, 0, 'a', [0])], 'kind: Inference\nname: j\ncommand: [x]\n');
  t.equal(rankEnv(plain, plain.ranks[0]!, (n) => nodes.get(n)).GANTRY_SERVICE_PORT, undefined, 'no SLO, no service port');
});

t.test('master port and backoff', async (t) => {
  t.equal(pickMasterPort({ min: 100, max: 102 }, new Set()), 100);
  t.equal(pickMasterPort({ min: 100, max: 102 }, new Set([100, 101])), 102);
  t.equal(pickMasterPort({ min: 100, max: 102 }, new Set([100, 101, 102])), 0, '0 when the range is used up');
  t.same([1, 2, 3, 4, 10].map((a) => requeueDelayMs(a, 1000, 5000)), [1000, 2000, 4000, 5000, 5000]);
});
