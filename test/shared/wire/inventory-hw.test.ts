/** Issue 24's inventory facts on the wire: MIG instances, platformInfo, the static-facts tool, fabric degradation; bounded at the boundary. */
import t from 'tap';
import { inventoryFromPb, inventoryToPb } from '../../../shared/wire/index.js';
import { emptyInventory } from '../../../shared/domain/index.js';
import type { PbInventoryOut } from '../../../shared/proto/index.js';
import { parseNvidiaSmiXml } from '../../../agent/core/index.js';
import { fixture, read } from '../../agent/collectors/fixtures.js';

const asOut = <T>(x: unknown): T => JSON.parse(JSON.stringify(x)) as T;

function inventoryOf(file: string): ReturnType<typeof emptyInventory> {
  const p = parseNvidiaSmiXml(read(file));
  const inv = emptyInventory('n1');
  // minorNumber is agent-local (never on the wire).
  inv.gpus = p.gpus.map(({ minorNumber: _m, ...g }) => g);
  inv.firmware = { ...p.firmware, tool: 'nvidia-smi' };
  inv.topology.fabric = p.fabric;
  return inv;
}

t.test('MIG instances, platformInfo, tool and fabric degradation round-trip', async (t) => {
  const mig = inventoryOf(fixture('telegraf', 'a100-sxm4-v12.xml'));
  t.ok((mig.gpus[0]!.migInstances ?? []).length > 0);
  t.same(inventoryFromPb(asOut<PbInventoryOut>(inventoryToPb(mig)), 'inventory'), mig);
  const gb = inventoryOf(fixture('nvidia', 'qx-gb200.xml'));
  gb.topology.fabric = { ...gb.topology.fabric!, degradedReason: 'GPU 1: route_unhealthy=True' };
  t.ok(gb.gpus[0]!.platform);
  t.same(inventoryFromPb(asOut<PbInventoryOut>(inventoryToPb(gb)), 'inventory'), gb);
});

t.test('out-of-bounds MIG and platform values are refused naming the field', async (t) => {
  const inv = inventoryOf(fixture('telegraf', 'a100-sxm4-v12.xml'));
  const pb = asOut<PbInventoryOut>(inventoryToPb(inv));
  const many = asOut<PbInventoryOut>(pb);
  many.gpus[0]!.migInstances = Array.from({ length: 65 }, () => pb.gpus[0]!.migInstances[0]!);
  t.throws(() => inventoryFromPb(many, 'register.inventory'), /register\.inventory\.gpus\[0\]\.migInstances: lists 65 entries; at most 64/);
  const neg = asOut<PbInventoryOut>(pb);
  neg.gpus[0]!.migInstances[1]!.multiprocessorCount = -3;
  t.throws(() => inventoryFromPb(neg, 'register.inventory'), /register\.inventory\.gpus\[0\]\.migInstances\[1\]\.multiprocessorCount: must be an integer/);
  const gb = asOut<PbInventoryOut>(inventoryToPb(inventoryOf(fixture('nvidia', 'qx-gb200.xml'))));
  gb.gpus[2]!.platform!.chassisSerial = 'x'.repeat(2000);
  t.throws(() => inventoryFromPb(gb, 'register.inventory'), /register\.inventory\.gpus\[2\]\.platform\.chassisSerial: is 2000 characters/);
});
