import t from 'tap';
import { emptyInventory, type NodeRecord } from '../../../shared/domain/index.js';
import { nodeInputFromRecord, nodeStateFromRecord } from '../../../scheduler/topology/index.js';
import { gpuInfo } from '../../builders/inventory.js';

function record(patch: (r: NodeRecord) => void = () => {}): NodeRecord {
  const inventory = emptyInventory('gb-1');
  inventory.firmware = { driverVersion: '570.86.15', cudaVersion: '12.8' };
  inventory.gpus = [0, 1, 2, 3].map((i) => gpuInfo(i, { name: 'NVIDIA GB200', memoryMiB: 189471, pciBusId: '' }));
  inventory.topology.domains = { leaf: 'leaf-3', spine: 'spine-1', nvlink: 'label-rack' };
  inventory.topology.linkGroups = [{ kind: 'nvlink', gpus: [0, 1, 2, 3] }];
  inventory.topology.fabric = { clusterUuid: 'c0ffee', cliqueId: 7, state: 'Completed', status: 'Success', trusted: true };
  const r: NodeRecord = {
    name: 'gb-1',
    address: '10.0.0.1:7070',
    connectivity: 'ready',
    schedulability: 'schedulable',
    schedulabilityReason: '',
    health: 'ok',
    verdicts: [],
    inventory,
    labels: {},
    agentVersion: '0.1.0',
    registeredMs: 0,
    lastSeenMs: 0,
    reportsReceived: 0,
  };
  patch(r);
  return r;
}

t.test('tree input: trusted fabric info names the NVLink domain, over labels', async (t) => {
  const input = nodeInputFromRecord(record(), ['nvlink', 'leaf', 'spine']);
  t.same(input.domains, { nvlink: 'c0ffee/7', leaf: 'leaf-3', spine: 'spine-1' });
  t.equal(input.gpus, 4);
  t.equal(input.model, 'NVIDIA GB200');
  t.equal(input.driver, '570.86.15');
  t.ok((input.memoryGiB ?? 0) > 185);
  const untrusted = nodeInputFromRecord(
    record((r) => {
      if (r.inventory.topology.fabric) r.inventory.topology.fabric.trusted = false;
    }),
    ['nvlink', 'leaf'],
  );
  t.same(untrusted.domains, { nvlink: 'label-rack', leaf: 'leaf-3' });
});

t.test('node state: failed GPUs, cordon, drain, loss, health, approval', async (t) => {
  t.same(nodeStateFromRecord(record(), [1]), { usedGpus: [1], unhealthyGpus: [], unusable: null });
  const failing = record((r) => {
    r.verdicts = [
      { check: 'xid', severity: 'fail', gpu: 2, evidence: 'XID 79', firstSeenMs: 1 },
      { check: 'ecc', severity: 'warn', gpu: 1, evidence: 'sbe', firstSeenMs: 1 },
    ];
  });
  t.same(nodeStateFromRecord(failing).unhealthyGpus, [2]);
  t.equal(nodeStateFromRecord(record((r) => (r.schedulability = 'cordoned'))).unusable, 'cordoned');
  t.equal(nodeStateFromRecord(record((r) => (r.schedulability = 'draining'))).unusable, 'draining');
  t.equal(nodeStateFromRecord(record((r) => (r.connectivity = 'lost'))).unusable, 'lost');
  t.equal(nodeStateFromRecord(record((r) => (r.health = 'fail'))).unusable, 'health fail');
  t.equal(nodeStateFromRecord(record((r) => (r.awaitingApproval = true))).unusable, 'awaiting approval', 'a node awaiting approval takes no work');
  t.equal(nodeStateFromRecord(record((r) => (r.awaitingApproval = false))).unusable, null, 'an approved one does');
});
