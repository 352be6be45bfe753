/**
 * The node registry's operator actions on a real LMDB store: approving a node and deleting its
 * record are durable (a reopened store agrees), and each is one node event and one transition.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClusterModel, type Registration, type Transition } from '../../scheduler/cluster/index.js';
import { MemoryEventBus } from '../../scheduler/events/index.js';
import { NodeRegistry } from '../../scheduler/node-registry.js';
import { LmdbStore } from '../../scheduler/store/index.js';
import { systemClock } from '../../shared/clock/index.js';
import { emptyInventory } from '../../shared/domain/index.js';
import type { NodeEvent } from '../../shared/events/index.js';
import { createLogger } from '../../shared/log/index.js';

const log = createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false });
const reg = (name: string): Registration => ({ name, address: name, agentVersion: '1', inventory: emptyInventory(name), labels: {}, verdicts: [], allowedUsers: [], allowRoot: false });

t.test('approve and delete are stored, published and announced', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-registry-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let store = LmdbStore.open(dir);
  const events = new MemoryEventBus();
  const registry = new NodeRegistry(new ClusterModel(60_000, true), store, events, systemClock, log);
  const seen: Transition['type'][] = [];
  registry.onTransition((x) => seen.push(x.type));
  const nodeEvents = (): string[] => events.events.filter((e): e is NodeEvent => e.kind === 'node').map((e) => `${e.node} ${e.type}`);

  await registry.register(reg('a'));
  await registry.register(reg('b'));
  t.equal(store.getNode('a')?.awaitingApproval, true, 'a new node is stored awaiting approval');

  t.equal((await registry.approve('a'))?.awaitingApproval, undefined, 'approve returns the record without the flag');
  t.equal(store.getNode('a')?.awaitingApproval, undefined, 'and stores it so');
  t.equal(await registry.approve('nope'), undefined, 'approving an unknown node: undefined');

  t.equal(await registry.delete('b'), true, 'delete b');
  t.equal(store.getNode('b'), undefined, 'its record is gone from the store');
  t.equal(registry.cluster.get('b'), undefined, 'and from the cluster view');
  t.equal(await registry.delete('b'), false, 'deleting it again: false');

  t.same(nodeEvents(), ['a registered', 'b registered', 'a approved', 'b deleted'], 'one node event each');
  t.same(seen, ['registered', 'registered', 'approved', 'deleted'], 'one transition each, to the listeners');

  await store.close();
  store = LmdbStore.open(dir);
  t.teardown(() => store.close());
  t.same(store.listNodes().map((n) => [n.name, n.awaitingApproval ?? false]), [['a', false]], 'a reopened store has a, approved, and no b');
  t.same(store.outboxPeek(10).map((e) => `${(e.event as NodeEvent).node} ${e.event.type}`), ['a registered', 'b registered', 'a approved', 'b deleted'], 'the events are in the outbox, in order');
});

t.test('a node left out of placement is a node event with the reason, in the outbox with the other events', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-registry-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = LmdbStore.open(dir);
  t.teardown(() => store.close());
  const events = new MemoryEventBus();
  const registry = new NodeRegistry(new ClusterModel(60_000), store, events, systemClock, log);
  await registry.excluded('n-bad', 'inventory.gpus: 1108 GPUs; at most 1024');
  t.match(events.events, [{ kind: 'node', node: 'n-bad', type: 'excluded', reason: 'inventory.gpus: 1108 GPUs; at most 1024' }], 'published with the reason');
  t.match(store.outboxPeek(10).map((e) => e.event), [{ type: 'excluded', node: 'n-bad' }], 'stored in the outbox, for NATS');
  t.equal(store.getNode('n-bad'), undefined, 'no record is made for it');
});
