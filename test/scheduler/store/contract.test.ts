/** One contract, two implementations: the LMDB store and its in-memory twin must behave alike. */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LmdbStore, MemoryStore, type StateStore } from '../../../scheduler/store/index.js';
import { emptyInventory, type NodeRecord } from '../../../shared/domain/index.js';

function node(name: string, over: Partial<NodeRecord> = {}): NodeRecord {
  const inventory = emptyInventory(name);
  inventory.gpus.push({
    index: 0, uuid: `GPU-${name}`, name: 'NVIDIA H100 80GB HBM3', vendor: 'nvidia', memoryMiB: 81559, pciBusId: '00000000:18:00.0',
    serial: 's', vbiosVersion: 'v', inforomVersion: 'i', gspFirmwareVersion: 'g', numaNode: 0, nvlinkDomain: '', linkRow: ['X'], migEnabled: false,
  });
  return {
    name, address: name, connectivity: 'ready', schedulability: 'schedulable', schedulabilityReason: '', health: 'ok', verdicts: [],
    inventory, labels: { a: 'b' }, agentVersion: '0.1.0', registeredMs: 1000, lastSeenMs: 2000, reportsReceived: 3, ...over,
  };
}

const impls: Array<[string, (dir: string) => StateStore, boolean]> = [
  ['memory', () => new MemoryStore(), false],
  ['lmdb', (dir) => LmdbStore.open(dir), true],
];

for (const [name, make, durable] of impls) {
  t.test(`${name} store contract`, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-store-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    let store = make(dir);
    t.same(store.listNodes(), [], 'starts empty');
    t.equal(store.getNode('x'), undefined, 'unknown node is undefined');
    await store.putNodes([node('b'), node('a')]);
    t.same(store.listNodes().map((n) => n.name), ['a', 'b'], 'lists in name order');
    t.same(store.getNode('a'), node('a'), 'round-trips a whole record');
    await store.putNodes([node('a', { connectivity: 'lost', schedulability: 'cordoned', schedulabilityReason: 'ops' })]);
    t.equal(store.getNode('a')!.connectivity, 'lost', 'a put replaces the record');
    t.equal(store.getNode('a')!.schedulabilityReason, 'ops');
    const got = store.getNode('a')!;
    got.name = 'mutated';
    t.equal(store.getNode('a')!.name, 'a', 'callers cannot mutate stored records');
    t.equal(await store.deleteNode('b'), true, 'delete reports that it deleted');
    t.equal(await store.deleteNode('b'), false, 'and that there was nothing to delete');
    if (durable) {
      await store.close();
      store = make(dir);
      t.same(store.listNodes().map((n) => n.name), ['a'], 'survives close and reopen');
      t.equal(store.getNode('a')!.schedulability, 'cordoned');
    }
    await store.close();
  });
}
