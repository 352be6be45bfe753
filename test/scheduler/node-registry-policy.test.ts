/**
 * Health policy in the node registry (issue 20), on a real LMDB store: verdict actions cordon,
 * drain or evict (the evict listener told after the cordon is stored); policy lifts only its own;
 * the circuit breaker holds back a step that would take too many nodes out, with one event per
 * held-back action, and takes it once enough nodes are back.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Counter, Gauge, Registry } from 'prom-client';
import { ClusterModel, type Registration } from '../../scheduler/cluster/index.js';
import { MemoryEventBus } from '../../scheduler/events/index.js';
import { NodeRegistry } from '../../scheduler/node-registry.js';
import { LmdbStore } from '../../scheduler/store/index.js';
import { systemClock } from '../../shared/clock/index.js';
import { emptyInventory, type HealthVerdict } from '../../shared/domain/index.js';
import type { NodeEvent } from '../../shared/events/index.js';
import { createLogger } from '../../shared/log/index.js';

const log = createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false });
const reg = (name: string): Registration => ({ name, address: name, agentVersion: '1', inventory: emptyInventory(name), labels: {}, verdicts: [], allowedUsers: [], allowRoot: false });
const v = (check: string, severity: HealthVerdict['severity'], over: Partial<HealthVerdict> = {}): HealthVerdict => ({ check, severity, evidence: 'e', firstSeenMs: 1, ...over });

async function setup(t: Test, nodes: number, maxAutoDrainShare: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-policy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = LmdbStore.open(dir);
  t.teardown(() => store.close());
  const events = new MemoryEventBus();
  const r = new Registry();
  const metrics = {
    nodeIncidents: new Counter({ name: 'i', help: 'i', labelNames: ['source'], registers: [r] }),
    breakerOpen: new Gauge({ name: 'o', help: 'o', registers: [r] }),
    breakerHeldBack: new Counter({ name: 'h', help: 'h', labelNames: ['action'], registers: [r] }),
  };
  const registry = new NodeRegistry(new ClusterModel(60_000), store, events, systemClock, log, { maxAutoDrainShare, metrics });
  const evicted: string[] = [];
  registry.onEvict((node, checks) => evicted.push(`${node}: ${checks.join(', ')}`));
  for (let i = 1; i <= nodes; i++) await registry.register(reg(`n${i}`));
  const node = (name: string) => registry.cluster.get(name)!;
  const nodeEvents = (type: string) => events.events.filter((e): e is NodeEvent => e.kind === 'node' && e.type === type);
  const gauge = async () => (await metrics.breakerOpen.get()).values[0]?.value;
  return { registry, store, evicted, node, nodeEvents, gauge, metrics };
}

t.test('verdict actions: cordon, drain, evict; lifted when they clear; stored', async (t) => {
  const { registry, store, evicted, node } = await setup(t, 10, 0.5);
  await registry.report('n1', { verdicts: [v('pcie', 'warn', { action: 'cordon' })] });
  t.match(node('n1'), { schedulability: 'cordoned', schedulabilityReason: 'health: pcie' });
  t.equal(store.getNode('n1')?.schedulability, 'cordoned', 'stored');
  await registry.report('n2', { verdicts: [v('rows', 'warn', { action: 'drain', gpu: 2 })] });
  t.match(node('n2'), { schedulability: 'draining', schedulabilityReason: 'health: rows gpu 2' });
  t.notOk(node('n2').drainDeadlineMs, 'a drain without deadline');
  t.same(evicted, [], 'no eviction for cordon or drain');
  await registry.report('n3', { verdicts: [v('xid', 'fail', { gpu: 5 })] });
  t.match(node('n3'), { schedulability: 'cordoned', schedulabilityReason: 'health: xid gpu 5' });
  t.same(evicted, ['n3: xid gpu 5'], 'a fail verdict evicts');
  // Clear: policy lifts its own.
  for (const n of ['n1', 'n2', 'n3']) await registry.report(n, { verdicts: [] });
  for (const n of ['n1', 'n2', 'n3']) t.match(node(n), { schedulability: 'schedulable', schedulabilityReason: '' }, `${n} lifted`);
  // An operator's drain stays; an evict still evicts there.
  await registry.setSchedulability('n4', 'draining', 'bios update');
  await registry.report('n4', { verdicts: [v('xid', 'fail')] });
  t.match(node('n4'), { schedulability: 'draining', schedulabilityReason: 'bios update' });
  t.same(evicted.at(-1), 'n4: xid');
  await registry.report('n4', { verdicts: [] });
  t.match(node('n4'), { schedulability: 'draining', schedulabilityReason: 'bios update' }, "health never lifts an operator's drain");
});

t.test('incidents drain once; a node already out is left as it is', async (t) => {
  const { registry, node, nodeEvents, metrics } = await setup(t, 10, 0.5);
  await registry.incident('n1', { source: 'epilog', jobId: 'j-1', reason: 'exit 2', leftovers: [] });
  t.match(node('n1'), { schedulability: 'draining', schedulabilityReason: 'health: epilog: exit 2' });
  await registry.autoDrain('n1', 'prolog', 'exit 1');
  t.equal(node('n1').schedulabilityReason, 'health: epilog: exit 2', 'a second drain is a no-op');
  await registry.report('n1', { verdicts: [] });
  t.equal(node('n1').schedulability, 'draining', 'verdicts clearing do not lift an incident drain');
  t.equal(nodeEvents('incident').length, 1, 'one incident event (autoDrain adds none)');
  t.equal((await metrics.nodeIncidents.get()).values.find((x) => x.labels.source === 'epilog')?.value, 1);
});

t.test('the breaker: 10 nodes at 0.1 take one out; a second is held back (one event), then taken once the first is back', async (t) => {
  const { registry, evicted, node, nodeEvents, gauge, metrics } = await setup(t, 10, 0.1);
  await registry.report('n1', { verdicts: [v('xid', 'fail')] });
  t.equal(node('n1').schedulability, 'cordoned');
  t.equal(await gauge(), 0);
  await registry.report('n2', { verdicts: [v('ecc', 'fail', { gpu: 1 })] });
  t.equal(node('n2').schedulability, 'schedulable', 'held back');
  t.same(evicted, ['n1: xid'], 'and not evicted');
  t.match(nodeEvents('breaker'), [{ node: 'n2', action: 'evict', wanted: 'health: ecc gpu 1', why: '2 of 10 nodes would be out, more than health.maxAutoDrainShare 0.1 allows (1)' }]);
  t.equal(await gauge(), 1);
  // Reports go on: the step is tried again, the event and the count are not repeated.
  await registry.report('n2', {});
  await registry.report('n2', { verdicts: [v('ecc', 'fail', { gpu: 1 })] });
  t.equal(nodeEvents('breaker').length, 1, 'one event per held-back action');
  t.equal((await metrics.breakerHeldBack.get()).values.find((x) => x.labels.action === 'evict')?.value, 1);
  // n1 repaired: n2's step is taken at its next report.
  await registry.report('n1', { verdicts: [] });
  t.equal(node('n1').schedulability, 'schedulable');
  await registry.report('n2', {});
  t.match(node('n2'), { schedulability: 'cordoned', schedulabilityReason: 'health: ecc gpu 1' });
  t.same(evicted, ['n1: xid', 'n2: ecc gpu 1']);
  t.equal(await gauge(), 0, 'closed again');
  // A held-back action whose verdict clears is dropped.
  await registry.report('n3', { verdicts: [v('rows', 'warn', { action: 'drain' })] });
  t.equal(await gauge(), 1);
  await registry.report('n3', { verdicts: [] });
  t.equal(await gauge(), 0);
  t.equal(node('n3').schedulability, 'schedulable');
});
