/**
 * Firmware drift end to end (issue 24) on real parts: a scheduler and two agents as child processes,
 * each behind the stand-in nvidia-smi serving a real capture: the H100 VM capture this project took
 * (driver 580.159.04) and NVIDIA's qx-h100.xml (another driver, VBIOS and GSP, the same InfoROM and
 * model), both in leaf-1. Two nodes that disagree have no majority, so `gantry nodes --firmware`
 * marks both nodes' differing values (the majority rule itself, with three nodes and more, is
 * test/shared/domain/firmware-drift.test.ts's) and names the levels; the shared InfoROM is not
 * marked; the scheduler's gantry_scheduler_node_firmware_drift counts them. Expected values are read
 * from the capture files themselves. Two agents, not three, to keep the CI time down.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { FIXTURES, H100_XML, gantryCli as cli, httpGet, listNodes, startAgent, startScheduler, waitFor } from '../harness/cluster.js';

const VM = path.join(FIXTURES, 'nvidia', 'h100-vm-580.159.04');

function first(file: string, tag: string): string {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(readFileSync(file, 'utf8'));
  if (!m) throw new Error(`${tag} not in ${file}`);
  return m[1]!.trim();
}

t.test('gantry nodes --firmware marks the values two nodes of one leaf disagree on, not those they share', async (t) => {
  const sched = await startScheduler(t);
  const env = { GANTRY_SCHEDULER_ADDRESS: sched.address };
  const vmXml = path.join(VM, 'qx.xml');
  await Promise.all([
    startAgent(t, 'vm-1', sched.address, { capture: vmXml, topo: path.join(VM, 'topo-m.txt'), topology: { leaf: 'leaf-1' } }),
    startAgent(t, 'qx-1', sched.address, { capture: H100_XML, topology: { leaf: 'leaf-1' } }),
  ]);
  await waitFor('two ready nodes', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready').length === 2, 30_000);

  const r = await cli(['nodes', '--firmware'], env);
  t.equal(r.code, 0, r.stderr);
  const line = (n: string): string => r.stdout.split('\n').find((l) => l.startsWith(`${n} `)) ?? '';
  t.match(line('qx-1'), `${first(H100_XML, 'driver_version')}*`, "qx-1's driver is marked");
  t.match(line('qx-1'), `${first(H100_XML, 'vbios_version')}*`, "qx-1's VBIOS is marked");
  t.match(line('qx-1'), /driver@leaf,fleet; vbios@leaf,fleet; gsp@leaf,fleet/);
  t.match(line('qx-1'), `${first(H100_XML, 'img_version')} `, 'the shared InfoROM is not marked');
  t.equal(first(H100_XML, 'img_version'), first(vmXml, 'img_version'));
  t.match(line('vm-1'), `${first(vmXml, 'vbios_version')}*`, 'no majority: the other side is marked too');
  t.match(line('vm-1'), /driver@leaf,fleet; vbios@leaf,fleet; gsp@leaf,fleet/);
  t.match(line('vm-1'), /unknown/, 'HCA firmware unknown: no InfiniBand read by these agents');

  const json = JSON.parse((await cli(['nodes', '--firmware', '--json'], env)).stdout) as Array<Record<string, { value: string | null; drift: string[] }>>;
  const qx = json.find((n) => (n['name'] as unknown) === 'qx-1')!;
  t.same(qx['gsp'], { value: first(H100_XML, 'gsp_firmware_version'), drift: ['leaf', 'fleet'] });

  const metrics = await httpGet(`http://127.0.0.1:${sched.metricsPort}/metrics`);
  t.match(metrics, /gantry_scheduler_node_firmware_drift\{field="vbios",domain_level="leaf"\} 2\n/);
  t.match(metrics, /gantry_scheduler_node_firmware_drift\{field="inforom",domain_level="leaf"\} 0\n/);
});
