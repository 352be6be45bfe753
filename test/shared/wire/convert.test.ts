import t from 'tap';
import { inventoryFromPb, inventoryToPb, jobToPb, jobViewFromPb, nodeFromPb, nodeToPb, verdictFromPb, verdictToPb } from '../../../shared/wire/index.js';
import { emptyInventory, type HealthVerdict, type NodeRecord } from '../../../shared/domain/index.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import type { PbInventoryOut, PbJobOut, PbNodeOut, PbVerdictOut } from '../../../shared/proto/index.js';
import { jobRecord } from '../../builders/job.js';
import { gpuInfo } from '../../builders/inventory.js';

// proto-loader with defaults: true fills every field; mimic that by round-tripping through JSON.
const asOut = <T>(x: unknown): T => JSON.parse(JSON.stringify(x)) as T;

t.test('inventory round-trips', async (t) => {
  const inv = emptyInventory('n1');
  inv.gpus.push({
    index: 3, uuid: 'GPU-1', name: 'NVIDIA GB200', vendor: 'nvidia', memoryMiB: 189471, pciBusId: '00000008:01:00.0', serial: '1',
    vbiosVersion: '97.00', inforomVersion: 'G548', gspFirmwareVersion: '580.173.02', numaNode: 1, nvlinkDomain: 'abc/2', linkRow: ['X', 'NV18'], migEnabled: false,
  });
  inv.topology = {
    linkMatrix: { devices: ['GPU3', 'GPU4'], rows: [['X', 'NV18'], ['NV18', 'X']] },
    linkGroups: [{ kind: 'nvlink', gpus: [3, 4] }],
    fabric: { clusterUuid: 'abc', cliqueId: 2, state: 'Completed', status: 'Success', trusted: true },
    domains: { leaf: 'l1' },
    nics: { NIC0: 'mlx5_0' },
  };
  inv.hcas.push({ name: 'mlx5_0', hcaType: 'MT4129', firmwareVersion: '28.41.1000', boardId: 'MT_0000000838', ports: [{ port: 1, state: 'ACTIVE', physState: 'LinkUp', rateGbps: 400, linkLayer: 'InfiniBand' }] });
  t.same(inventoryFromPb(asOut<PbInventoryOut>(inventoryToPb(inv)), 'inventory'), inv);
});

t.test('verdicts keep "no GPU" apart from GPU 0', async (t) => {
  const node: HealthVerdict = { check: 'infiniband', severity: 'warn', evidence: 'mlx5_1 down', firstSeenMs: 5 };
  const gpu0: HealthVerdict = { check: 'xid', severity: 'fail', gpu: 0, evidence: 'Xid 79', firstSeenMs: 6 };
  t.same(verdictFromPb(asOut<PbVerdictOut>({ ...verdictToPb(node), gpu: 0 }), 'v'), node);
  t.same(verdictFromPb(asOut<PbVerdictOut>(verdictToPb(gpu0)), 'v'), gpu0);
});

t.test('node records round-trip', async (t) => {
  const n: NodeRecord = {
    name: 'n1', address: '10.0.0.1', connectivity: 'lost', schedulability: 'draining', schedulabilityReason: 'ops', health: 'warn',
    verdicts: [{ check: 'throttle', severity: 'warn', gpu: 2, evidence: 'hw slowdown 30%', firstSeenMs: 9 }],
    inventory: emptyInventory('n1'), labels: { rack: 'r1' }, agentVersion: '0.1.0', registeredMs: 1, lastSeenMs: 2, reportsReceived: 3,
    allowedUsers: ['alice', 'root'], allowRoot: true,
  };
  t.same(nodeFromPb(asOut<PbNodeOut>(nodeToPb(n))), n);
  // A record stored before agents reported their allow-lists: no account, no root.
  const { allowedUsers: _u, allowRoot: _r, ...old } = n;
  t.match(nodeToPb(old), { allowedUsers: [], allowRoot: false });
  t.same(nodeFromPb(asOut<PbNodeOut>(nodeToPb(old))), { ...old, allowedUsers: [], allowRoot: false });
  const waiting: NodeRecord = { ...n, awaitingApproval: true };
  t.equal(nodeToPb(waiting).awaitingApproval, true, 'awaiting_approval set');
  t.same(nodeFromPb(asOut<PbNodeOut>(nodeToPb(waiting))), waiting, 'a node awaiting approval round-trips');
});

t.test('inbound validation names the field', async (t) => {
  const two = emptyInventory('x');
  two.gpus.push(gpuInfo(1), gpuInfo(1));
  const bad = asOut<PbInventoryOut>(inventoryToPb(two));
  t.throws(() => inventoryFromPb(bad, 'register.inventory'), new InvalidArgumentError('register.inventory.gpus[1].index', 'duplicate GPU index 1'));
  t.throws(() => inventoryFromPb(undefined, 'register.inventory'), /register\.inventory: is required/);
  t.throws(() => verdictFromPb(asOut({ check: '', severity: 'SEVERITY_OK' }), 'report.verdicts[0]'), /report\.verdicts\[0\]\.check: must not be empty/);
});

t.test("a job's ranks carry how they ended and their usage to the CLI; not measured stays null", async (t) => {
  const job = jobRecord('tl-1', { ranks: 2, timeLimit: 60 }, { on: [{ node: 'a', gpus: [0] }, { node: 'b', gpus: [0] }], state: 'timeout', deadlineMs: Date.UTC(2026, 0, 1, 0, 1) });
  job.ranks[0] = { ...job.ranks[0]!, state: 'exited', exitCode: null, signal: 'SIGTERM', endedBy: 'timeout', usage: { cpuUsec: 2_500_000, memoryPeakBytes: null, oomKills: 0 } };
  const pb = jobToPb(job);
  t.match(pb.ranks![0], { endedBy: 'timeout', usage: { hasCpuUsec: true, cpuUsec: 2_500_000, hasMemoryPeakBytes: false, hasOomKills: true, oomKills: 0 } });
  t.notOk(pb.ranks![1]!.usage, 'a rank without usage: no message');
  const view = jobViewFromPb(asOut<PbJobOut>({ ...pb, ranks: pb.ranks!.map((r) => ({ usage: null, ...r })) }));
  t.equal(view.state, 'timeout');
  t.equal(view.deadline, '2026-01-01T00:01:00.000Z', "the run's deadline");
  t.equal(jobViewFromPb(asOut<PbJobOut>(jobToPb({ ...job, state: 'requeued' }))).deadline, null, "a requeued run's deadline is over: not shown");
  t.match(view.ranks[0], { endedBy: 'timeout', usage: { cpuUsec: 2_500_000, memoryPeakBytes: null, oomKills: 0 } });
  t.match(view.ranks[1], { endedBy: null, usage: null });
});
