/** `gantry node show`'s hardware lines (issue 24) from real captures: MIG instances with profile (placement, UUID unknown), trays, fabric, the tool. */
import t from 'tap';
import { join } from 'node:path';
import { parseNvidiaSmiXml } from '../../../agent/core/index.js';
import { hardwareJson, hardwareRows } from '../../../shared/cli/node-hardware.js';
import { nodeText } from '../../../shared/cli/node.js';
import { emptyInventory, type NodeRecord } from '../../../shared/domain/index.js';
import { derivedFixtures, fixture, read } from '../../agent/collectors/fixtures.js';

function node(file: string): NodeRecord {
  const p = parseNvidiaSmiXml(read(file));
  const inventory = emptyInventory('n');
  inventory.gpus = p.gpus;
  inventory.firmware = { ...p.firmware, tool: 'nvidia-smi' };
  inventory.topology.fabric = p.fabric;
  return { name: 'n', address: 'n', connectivity: 'ready', schedulability: 'schedulable', schedulabilityReason: '', health: 'ok', verdicts: [], inventory, labels: {}, agentVersion: '1', registeredMs: 0, lastSeenMs: 0, reportsReceived: 0 };
}

t.test('MIG instances: one line each, profile derived, placement and UUID unknown', async (t) => {
  const n = node(fixture('telegraf', 'a100-sxm4-v12.xml'));
  const migs = hardwareRows(n).filter(([k]) => k === 'mig gpu 0');
  t.equal(migs.length, n.inventory.gpus[0]!.migInstances!.length);
  t.match(migs[0]![1], /^instance 0: 1g\.20gb, GI 3, CI 0, 14 SMs, 19968 MiB; placement unknown, UUID unknown$/);
  t.match(nodeText(n), /static facts from: +nvidia-smi/);
  t.match(hardwareJson(n)['migInstances'], [{ gpu: 0, profile: '1g.20gb', uuid: null, placementStart: null }]);
});

t.test('GB200: one tray line per chassis/slot/tray, the fabric and its degradation', async (t) => {
  const xml = read(fixture('nvidia', 'qx-gb200.xml'));
  const serial = /<chassis_serial_number>([^<]*)</.exec(xml)![1];
  const rows = hardwareRows(node(fixture('nvidia', 'qx-gb200.xml')));
  t.match(rows.filter(([k]) => k === 'tray'), [['tray', new RegExp(`^chassis ${serial}, slot \\d+, tray \\d+, host \\d+ \\(GPUs 0,1,2,3\\)$`)]]);
  t.match(rows.find(([k]) => k === 'nvlink fabric')![1], /Completed\/Success, trusted$/);
  const degraded = hardwareRows(node(join(derivedFixtures, 'qx-gb200-fabric-recovery.xml')));
  t.match(degraded.find(([k]) => k === 'nvlink fabric')![1], /degraded: GPU 0: route_recovery_in_progress=True/);
});
