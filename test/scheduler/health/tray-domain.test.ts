/**
 * NVL72 tray identity against the NVLink domain (issue 24): the pure cross-check on inventories parsed
 * from the real GB200 capture (chassis serial, clusterUuid and cliqueId read from the file), and the
 * node registry on a real LMDB store giving each node involved a warning verdict and a `hardware`
 * event, kept across the agent's own verdict reports and cleared when they agree again.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseNvidiaSmiXml } from '../../../agent/core/index.js';
import { ClusterModel, type Registration } from '../../../scheduler/cluster/index.js';
import { MemoryEventBus } from '../../../scheduler/events/index.js';
import { TRAY_DOMAIN_CHECK, trayDomainConflicts } from '../../../scheduler/health/index.js';
import { NodeRegistry } from '../../../scheduler/node-registry.js';
import { LmdbStore } from '../../../scheduler/store/index.js';
import { systemClock } from '../../../shared/clock/index.js';
import { emptyInventory, type Inventory } from '../../../shared/domain/index.js';
import type { NodeEvent } from '../../../shared/events/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { fixture, read } from '../../agent/collectors/fixtures.js';

const GB200 = read(fixture('nvidia', 'qx-gb200.xml'));
const H100 = read(fixture('nvidia', 'qx-h100.xml'));
const tag = (name: string): string => new RegExp(`<${name}>([^<]*)</${name}>`).exec(GB200)![1]!.trim();
const CHASSIS = tag('chassis_serial_number');
const CLUSTER = tag('clusterUuid');
const CLIQUE = tag('cliqueId');

/** An inventory from a capture; `cluster`/`chassis` replace the capture's (as GANTRY_SIM_CLUSTER_UUID does for the stand-in). */
function inv(xml: string, over: { cluster?: string; chassis?: string; chassisGpu1?: string } = {}): Inventory {
  const p = parseNvidiaSmiXml(xml);
  const i = emptyInventory();
  i.gpus = p.gpus.map((g, n) => (g.platform ? { ...g, platform: { ...g.platform, chassisSerial: (n === 1 ? over.chassisGpu1 : undefined) ?? over.chassis ?? g.platform.chassisSerial } } : g));
  i.topology.fabric = p.fabric && over.cluster ? { ...p.fabric, clusterUuid: over.cluster } : p.fabric;
  return i;
}
const node = (name: string, inventory: Inventory) => ({ name, inventory });

t.test('the cross-check: agreement is silent; a chassis in two clusters, a domain over two chassis, a node over two chassis are named', async (t) => {
  t.same(trayDomainConflicts([node('a', inv(GB200)), node('b', inv(GB200)), node('h', inv(H100))]), new Map(), 'two trays of one rack in one domain; an HGX node has neither');
  const other = '00000002-0000-0000-0000-000000000002';
  const split = trayDomainConflicts([node('a', inv(GB200)), node('b', inv(GB200, { cluster: other }))]);
  t.same([...split.keys()].sort(), ['a', 'b']);
  t.equal(split.get('a'), `chassis ${CHASSIS} is in NVLink clusters ${[CLUSTER, other].sort().map((c, i) => `${c} (${c === CLUSTER ? 'a' : 'b'})`).join(' vs ')}`);
  const span = trayDomainConflicts([node('a', inv(GB200)), node('c', inv(GB200, { chassis: 'RACK-2' }))]);
  t.match(span.get('c'), `NVLink domain ${CLUSTER}/${CLIQUE} spans chassis`);
  t.match(span.get('a'), /RACK-2 \(c\)/);
  const self = trayDomainConflicts([node('d', inv(GB200, { chassisGpu1: 'RACK-9' }))]);
  t.match(self.get('d'), `its GPUs name chassis ${[CHASSIS, 'RACK-9'].sort().join(' and ')}`);
});

t.test('the registry: a warning verdict and a hardware event on each node involved, kept over agent reports, cleared when they agree', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-tray-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = LmdbStore.open(dir);
  t.teardown(() => store.close());
  const events = new MemoryEventBus();
  const registry = new NodeRegistry(new ClusterModel(60_000), store, events, systemClock, createLogger({ name: 't', level: 'silent', format: 'json', isTty: false }));
  const reg = (name: string, inventory: Inventory): Registration => ({ name, address: name, agentVersion: '1', inventory, labels: {}, verdicts: [], allowedUsers: [], allowRoot: false });
  const hw = () => events.events.filter((e): e is NodeEvent & { type: 'hardware' } => e.kind === 'node' && e.type === 'hardware');
  const tray = (n: string) => registry.cluster.get(n)!.verdicts.find((v) => v.check === TRAY_DOMAIN_CHECK);

  await registry.register(reg('a', inv(GB200)));
  await registry.register(reg('b', inv(GB200, { chassis: 'RACK-2' })));
  t.match(tray('a'), { severity: 'warn', action: 'none' });
  t.match(tray('b')?.evidence, `spans chassis`);
  t.equal(registry.cluster.get('b')!.health, 'warn');
  t.same(hw().map((e) => e.node).sort(), ['a', 'b'], 'one event per node');
  t.match(store.getNode('b')?.verdicts, [{ check: TRAY_DOMAIN_CHECK }], 'stored');

  await registry.report('b', { verdicts: [{ check: 'thermal', severity: 'ok', evidence: '', firstSeenMs: 1 }] });
  t.ok(tray('b'), "the agent's own verdict list does not drop the scheduler's");
  t.equal(hw().length, 2, 'no event while nothing changes');

  await registry.report('b', { inventory: inv(GB200) });
  t.equal(tray('a'), undefined, 'cleared');
  t.equal(tray('b'), undefined);
  t.equal(registry.cluster.get('a')!.health, 'ok');
  t.same(hw().slice(2).map((e) => [e.node, e.evidence]).sort(), [['a', ''], ['b', '']], 'resolved events');
});
