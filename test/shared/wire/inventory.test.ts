import t, { type Test } from 'tap';
import { inventoryFromPb, inventoryToPb, labelsFromPb } from '../../../shared/wire/index.js';
import { emptyInventory, INVENTORY_LIMITS } from '../../../shared/domain/index.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import type { PbInventoryOut } from '../../../shared/proto/index.js';
import { gpuInfo } from '../../builders/inventory.js';

// proto-loader with defaults: true fills every field; mimic that by round-tripping through JSON.
const asOut = <T>(x: unknown): T => JSON.parse(JSON.stringify(x)) as T;

function wire(gpus = 8): PbInventoryOut {
  const inv = emptyInventory('n1');
  for (let i = 0; i < gpus; i++) inv.gpus.push(gpuInfo(i));
  return asOut<PbInventoryOut>(inventoryToPb(inv));
}

/** The field an inventory's refusal names (fails the test when it is accepted). */
function refusedField(t: Test, pb: PbInventoryOut): string {
  try {
    inventoryFromPb(pb, 'register.inventory');
  } catch (e) {
    t.type(e, InvalidArgumentError);
    return (e as InvalidArgumentError).field;
  }
  t.fail('accepted');
  return '';
}

t.test('an agent inventory within the bounds is accepted', async (t) => {
  const pb = wire(INVENTORY_LIMITS.maxGpus);
  t.equal(inventoryFromPb(pb, 'register.inventory').gpus.length, 1024, 'the topology limit itself');
});

t.test("the issue's junk inventories are refused, naming the field", async (t) => {
  const huge = wire(8);
  huge.gpus[3]!.index = 4e9;
  t.equal(refusedField(t, huge), 'register.inventory.gpus[3].index', 'GPU index 4e9');

  const mem = wire(2);
  mem.gpus[1]!.memoryMib = 2 ** 63;
  t.equal(refusedField(t, mem), 'register.inventory.gpus[1].memoryMib', 'memory 2^63');

  const many = wire(0);
  many.gpus = Array.from({ length: 20_008 }, (_, i) => ({ ...wire(1).gpus[0]!, index: i }));
  t.equal(refusedField(t, many), 'register.inventory.gpus', 'a 20,008-GPU list');
  const just = wire(0);
  just.gpus = Array.from({ length: 1025 }, (_, i) => ({ ...wire(1).gpus[0]!, index: i % 1024 }));
  t.equal(refusedField(t, just), 'register.inventory.gpus', '1,025 GPUs: one over');

  const neg = wire(1);
  neg.gpus[0]!.numaNode = -7;
  t.equal(refusedField(t, neg), 'register.inventory.gpus[0].numaNode');

  const frac = wire(1);
  frac.gpus[0]!.index = 0.5;
  t.equal(refusedField(t, frac), 'register.inventory.gpus[0].index', 'not an integer');
});

t.test('strings, lists and maps are bounded', async (t) => {
  const long = 'x'.repeat(INVENTORY_LIMITS.maxStringLength + 1);
  const s = wire(1);
  s.gpus[0]!.uuid = long;
  t.equal(refusedField(t, s), 'register.inventory.gpus[0].uuid');
  const host = wire(1);
  host.host!.kernel = long;
  t.equal(refusedField(t, host), 'register.inventory.host.kernel');
  const hostMem = wire(1);
  hostMem.host!.memoryBytes = 2 ** 63;
  t.equal(refusedField(t, hostMem), 'register.inventory.host.memoryBytes');

  const rows = wire(1);
  rows.topology!.linkMatrix!.rows = Array.from({ length: INVENTORY_LIMITS.maxLinkDevices + 1 }, () => ({ cells: [] }));
  t.equal(refusedField(t, rows), 'register.inventory.topology.linkMatrix.rows', 'link-matrix rows');
  const cells = wire(1);
  cells.topology!.linkMatrix!.rows = [{ cells: Array.from({ length: INVENTORY_LIMITS.maxLinkDevices + 1 }, () => 'X') }];
  t.equal(refusedField(t, cells), 'register.inventory.topology.linkMatrix.rows[0]', 'cells in a row');

  const hcas = wire(1);
  hcas.hcas = Array.from({ length: INVENTORY_LIMITS.maxHcas + 1 }, () => ({ name: 'mlx5_0', hcaType: '', firmwareVersion: '', boardId: '', ports: [] }));
  t.equal(refusedField(t, hcas), 'register.inventory.hcas', 'HCAs');
  const rate = wire(1);
  rate.hcas = [{ name: 'mlx5_0', hcaType: '', firmwareVersion: '', boardId: '', ports: [{ port: 1, state: '', physState: '', rateGbps: Number.NaN, linkLayer: '' }] }];
  t.equal(refusedField(t, rate), 'register.inventory.hcas[0].ports[0].rateGbps', 'a NaN rate');

  const nics = wire(1);
  nics.topology!.nics = Object.fromEntries(Array.from({ length: INVENTORY_LIMITS.maxNics + 1 }, (_, i) => [`NIC${i}`, `mlx5_${i}`]));
  t.equal(refusedField(t, nics), 'register.inventory.topology.nics', 'NICs');
  const groups = wire(2);
  groups.topology!.linkGroups = [{ kind: 'nvlink', gpus: [0, 5000] }];
  t.equal(refusedField(t, groups), 'register.inventory.topology.linkGroups[0].gpus[1]', 'a link group GPU out of range');

  t.throws(() => labelsFromPb(Object.fromEntries(Array.from({ length: INVENTORY_LIMITS.maxLabels + 1 }, (_, i) => [`k${i}`, 'v'])), 'register.labels'), /^register\.labels: has 257 entries/);
  t.throws(() => labelsFromPb({ rack: long }, 'register.labels'), /^register\.labels\.rack: is 1025 characters/);
  t.same(labelsFromPb({ rack: 'r1' }, 'register.labels'), { rack: 'r1' });
});

t.test('a client reads a stored record as it is, even one from before the bounds', async (t) => {
  const pb = wire(1108);
  pb.gpus![0]!.memoryMib = 2 ** 63;
  t.equal(inventoryFromPb(pb, 'inventory', false).gpus.length, 1108, 'gantry nodes can still show it (and so delete it)');
  t.throws(() => inventoryFromPb(pb, 'inventory'), /inventory\.gpus: lists 1108 entries/, 'the scheduler would refuse it');
});
