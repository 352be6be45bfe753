/**
 * Firmware drift from real captures: inventories parsed from nvidia-smi -q -x captures and a real
 * /sys/class/infiniband copy; every expected value is read from the capture file itself.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parseNvidiaSmiXml, hcaFromSysfs } from '../../../agent/core/index.js';
import { emptyInventory, firmwareDrift, driftCounts, driftDomains, type Inventory, type NodeRecord } from '../../../shared/domain/index.js';
import { firmwareTable, firmwareJson } from '../../../shared/cli/nodes-firmware.js';

const FIX = path.join(import.meta.dirname, '..', '..', '..', 'fixtures');
const H100_VM = path.join(FIX, 'nvidia', 'h100-vm-580.159.04', 'qx.xml');
const H100_QX = path.join(FIX, 'nvidia', 'qx-h100.xml');
const GB200 = path.join(FIX, 'nvidia', 'qx-gb200.xml');
const IB = path.join(FIX, 'gpud', 'sys-class-infiniband-h100.0', 'mlx5_0');

/** The first <tag>'s text of a capture, read with a regex (not through the parser under test). */
function first(file: string, tag: string): string {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(readFileSync(file, 'utf8'));
  if (!m) throw new Error(`${tag} not in ${file}`);
  return m[1]!.trim();
}

function inventoryOf(file: string, domains: Record<string, string>, hcaFw?: string): Inventory {
  const p = parseNvidiaSmiXml(readFileSync(file, 'utf8'));
  const inv = emptyInventory();
  inv.firmware = p.firmware;
  inv.gpus = p.gpus;
  inv.topology.fabric = p.fabric;
  inv.topology.domains = domains;
  if (hcaFw !== undefined) {
    const read = (f: string): string => readFileSync(path.join(IB, f), 'utf8');
    const hca = hcaFromSysfs({ name: 'mlx5_0', hcaType: read('hca_type'), fwVer: read('fw_ver'), boardId: read('board_id'), ports: [] } as never);
    inv.hcas = [{ ...hca, firmwareVersion: hcaFw || hca.firmwareVersion }];
  }
  return inv;
}

function rec(name: string, inventory: Inventory): NodeRecord {
  return { name, inventory } as NodeRecord;
}

const realHcaFw = readFileSync(path.join(IB, 'fw_ver'), 'utf8').trim();

t.test('the odd node of a leaf drifts in what differs; the same InfoROM does not; another GPU model is not compared', async (t) => {
  const nodes = [
    rec('a', inventoryOf(H100_VM, { leaf: 'leaf-1' }, '')),
    rec('b', inventoryOf(H100_VM, { leaf: 'leaf-1' }, '')),
    rec('c', inventoryOf(H100_QX, { leaf: 'leaf-1' }, '28.39.1002')),
    rec('gb', inventoryOf(GB200, { leaf: 'leaf-2' })),
  ];
  const d = firmwareDrift(nodes);
  const [a, , c, gb] = d;
  t.equal(c!.values.driver, first(H100_QX, 'driver_version'));
  t.equal(a!.values.driver, first(H100_VM, 'driver_version'));
  t.equal(c!.values.vbios, first(H100_QX, 'vbios_version'));
  t.equal(c!.values.gsp, first(H100_QX, 'gsp_firmware_version'));
  t.equal(a!.values.hcaFirmware, realHcaFw, 'HCA firmware as sysfs fw_ver has it');
  t.equal(first(H100_QX, 'img_version'), first(H100_VM, 'img_version'), 'the two H100 captures share an InfoROM');
  const cases: Array<[string, string, string[]]> = [
    ['c', 'driver', ['leaf', 'fleet']],
    ['c', 'vbios', ['leaf', 'fleet']],
    ['c', 'gsp', ['leaf', 'fleet']],
    ['c', 'inforom', []],
    ['c', 'hcaFirmware', ['leaf', 'fleet']],
    ['a', 'driver', []],
    ['a', 'vbios', []],
    // The GB200 node is alone in its leaf and of its model: its VBIOS, InfoROM, GSP are not compared;
    // its driver is compared with the fleet's (two H100 VMs hold the majority there).
    ['gb', 'vbios', []],
    ['gb', 'inforom', []],
    ['gb', 'driver', first(GB200, 'driver_version') === first(H100_VM, 'driver_version') ? [] : ['fleet']],
    ['gb', 'hcaFirmware', []],
  ];
  for (const [node, field, levels] of cases) {
    const got = d.find((x) => x.node === node)!.drift[field as 'driver'];
    t.same(got, levels, `${node} ${field}: ${levels.join(',') || 'no drift'}`);
  }
  t.equal(gb!.values.hcaFirmware, '', 'no HCA: unknown');
  const counts = driftCounts(d, ['leaf']);
  t.equal(counts.find((x) => x.field === 'vbios' && x.level === 'leaf')!.nodes, 1);
  t.equal(counts.find((x) => x.field === 'inforom' && x.level === 'leaf')!.nodes, 0, 'zeros are kept');
});

t.test('no majority: two nodes that disagree are both flagged; one node alone never is', async (t) => {
  const two = firmwareDrift([rec('a', inventoryOf(H100_VM, { leaf: 'l' })), rec('c', inventoryOf(H100_QX, { leaf: 'l' }))]);
  t.same(two.map((x) => x.drift.driver), [['leaf', 'fleet'], ['leaf', 'fleet']]);
  const one = firmwareDrift([rec('a', inventoryOf(H100_VM, {}))]);
  t.same(one[0]!.drift.driver, []);
});

t.test('the NVLink domain of trusted fabric info is a level; an untrusted (all-zero) one is not', async (t) => {
  const uuid = first(GB200, 'clusterUuid');
  t.same(driftDomains(inventoryOf(GB200, { leaf: 'l' })), { fleet: '', leaf: 'l', nvlink: `${uuid}/${first(GB200, 'cliqueId')}` });
  t.same(driftDomains(inventoryOf(H100_QX, {})), { fleet: '' }, 'qx-h100 has an all-zero clusterUuid');
  const d = firmwareDrift([rec('g1', inventoryOf(GB200, {})), rec('g2', inventoryOf(GB200, {})), rec('h', inventoryOf(H100_QX, {}))]);
  t.same(d[0]!.drift.driver, [], 'two GB200 nodes of one NVLink domain agree');
  t.same(d[2]!.drift.driver, first(GB200, 'driver_version') === first(H100_QX, 'driver_version') ? [] : ['fleet']);
});

t.test('gantry nodes --firmware: drifting values marked, unknown said, levels named', async (t) => {
  const nodes = [
    rec('a', inventoryOf(H100_VM, { leaf: 'leaf-1' })),
    rec('b', inventoryOf(H100_VM, { leaf: 'leaf-1' })),
    rec('c', inventoryOf(H100_QX, { leaf: 'leaf-1' })),
  ];
  const text = firmwareTable(nodes);
  const line = (n: string): string => text.split('\n').find((l) => l.startsWith(`${n} `))!;
  t.match(line('c'), `${first(H100_QX, 'vbios_version')}*`);
  t.match(line('c'), /driver@leaf,fleet/);
  t.notMatch(line('a'), /\*/);
  t.match(line('a'), /unknown/, 'no HCA read: unknown');
  t.match(text, /^NAME +DRIVER +CUDA +VBIOS +INFOROM +GSP +HCA FW +DRIFT/);
  const json = firmwareJson(nodes);
  t.same(json[2]!['vbios'], { value: first(H100_QX, 'vbios_version'), drift: ['leaf', 'fleet'] });
  t.same(json[0]!['hcaFirmware'], { value: null, drift: [] });
});
