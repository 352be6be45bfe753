/**
 * Fabric health and placement (issue 24): when one node's fabric health sub-fields say degraded
 * (derived fixtures, labelled in test/fixtures/derived/README.md; no real capture shows it), no node
 * of that NVLink domain gets the nvlink level or keeps its nvlink link groups.
 * `nvlink -s` "not supported" (MIG mode) reads as unknown, not as no links, and is not judged.
 */
import t from 'tap';
import { join } from 'node:path';
import { nvlinkStateText, parseNvidiaSmiXml, parseNvlinkStatus } from '../../../agent/core/index.js';
import { DEFAULT_HEALTH_CONFIG, nvlinkRule } from '../../../agent/health/index.js';
import { nodeInputs } from '../../../scheduler/jobs/cluster-view.js';
import { emptyInventory, type NodeRecord } from '../../../shared/domain/index.js';
import { derivedFixtures, fixture, read } from '../../agent/collectors/fixtures.js';

function record(name: string, file: string): NodeRecord {
  const p = parseNvidiaSmiXml(read(file));
  const inventory = emptyInventory(name);
  inventory.gpus = p.gpus;
  inventory.topology.fabric = p.fabric;
  inventory.topology.linkGroups = [{ kind: 'nvlink', gpus: p.gpus.map((g) => g.index) }];
  return {
    name, address: name, connectivity: 'ready', schedulability: 'schedulable', schedulabilityReason: '', health: 'ok', verdicts: [],
    inventory, labels: {}, agentVersion: '1', registeredMs: 0, lastSeenMs: 0, reportsReceived: 0,
  };
}

const HEALTHY = fixture('nvidia', 'qx-gb200.xml');
const LEVELS = ['nvlink', 'rack'];

t.test('a healthy domain is one nvlink domain; one degraded node makes it untrusted for all of its nodes', async (t) => {
  const clique = /<clusterUuid>([^<]*)<\/clusterUuid>/.exec(read(HEALTHY))![1];
  const healthy = nodeInputs(LEVELS, [record('a', HEALTHY), record('b', HEALTHY)]).inputs;
  t.ok(healthy.every((i) => i.domains?.['nvlink']?.startsWith(`${clique}/`)), 'both in the domain');
  t.same(healthy.map((i) => i.linkGroups?.map((g) => g.kind)), [['nvlink'], ['nvlink']]);
  for (const derived of ['qx-gb200-fabric-recovery.xml', 'qx-gb200-fabric-unhealthy.xml']) {
    const inputs = nodeInputs(LEVELS, [record('a', HEALTHY), record('b', HEALTHY), record('c', join(derivedFixtures, derived))]).inputs;
    t.same(inputs.map((i) => i.domains?.['nvlink']), [undefined, undefined, undefined], `${derived}: no node of the domain is NVLink-connected`);
    t.same(inputs.map((i) => i.linkGroups), [[], [], []], `${derived}: nor are their GPUs within a tray (their NVLink goes through the same NVSwitch fabric)`);
  }
});

t.test('nvlink -s "not supported" (MIG mode) is unknown: not "no links", not judged', async (t) => {
  const [mig] = parseNvlinkStatus(read(join(derivedFixtures, 'nvlink-status-mig-not-supported.txt')));
  t.match(mig, { index: 7, unknown: true, unsupported: false, allInactive: false, links: [] });
  t.equal(nvlinkStateText(mig!), 'unknown');
  t.same(nvlinkRule({ nvlink: [mig!] } as never, DEFAULT_HEALTH_CONFIG), [], 'no verdict for an A100-SXM4 whose links cannot be read');
  const [a10] = parseNvlinkStatus(read(fixture('azurehpc-health-checks', 'bad_nvlink_status.txt')));
  t.equal(nvlinkStateText(a10!), 'all inactive', 'the real "all links are inactive" capture is still a fault');
  t.equal(nvlinkRule({ nvlink: [a10!] } as never, DEFAULT_HEALTH_CONFIG).length, 1);
  const real = parseNvlinkStatus(read(fixture('azurehpc-health-checks', 'good_nvlink_status.txt')));
  t.ok(real.every((g) => !g.unknown) && /^12 of 12 up$/.test(nvlinkStateText(real[0]!)), 'a real status with links');
});
