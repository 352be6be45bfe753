/**
 * Issue 24's hardware facts from `nvidia-smi -q -x`: MIG instances (telegraf's a100-sxm4-v12.xml, the
 * only real MIG capture), platformInfo (the real GB200 capture), fabric health degradation (derived
 * fixtures, labelled in test/fixtures/derived/README.md). Expected values are read from the files with
 * regexes, not through the parser.
 */
import t from 'tap';
import { join } from 'node:path';
import { parseNvidiaSmiXml } from '../../../../agent/core/index.js';
import { migProfileName } from '../../../../agent/core/nvidia/mig-profiles.js';
import { derivedFixtures, fixture, read } from '../../collectors/fixtures.js';

function tags(text: string, name: string): string[] {
  return [...text.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1]!.trim());
}

t.test('MIG instances of the real A100-SXM4-80GB capture: ids, SMs, memory as the file has them; profile derived', async (t) => {
  const xml = read(fixture('telegraf', 'a100-sxm4-v12.xml'));
  const block = /<mig_devices>([\s\S]*?)<\/mig_devices>/.exec(xml)![1]!;
  const devices = [...block.matchAll(/<mig_device>([\s\S]*?)<\/mig_device>/g)].map((m) => m[1]!);
  const p = parseNvidiaSmiXml(xml);
  const migs = p.gpus[0]!.migInstances ?? [];
  t.equal(migs.length, devices.length, `${devices.length} instances`);
  t.ok(devices.length > 0);
  devices.forEach((d, i) => {
    const m = migs[i]!;
    t.equal(m.index, Number(tags(d, 'index')[0]));
    t.equal(m.gpuInstanceId, Number(tags(d, 'gpu_instance_id')[0]));
    t.equal(m.computeInstanceId, Number(tags(d, 'compute_instance_id')[0]));
    t.equal(m.multiprocessorCount, Number(tags(d, 'multiprocessor_count')[0]));
    t.equal(m.memoryMiB, Number.parseInt(tags(/<fb_memory_usage>([\s\S]*?)<\/fb_memory_usage>/.exec(d)![1]!, 'total')[0]!, 10));
    // 14 SMs and 19.5 GiB on an A100 80GB: the guide's 1g.20gb.
    t.equal(m.profile, '1g.20gb');
    t.equal(m.uuid, '', 'UUID unknown: not in -q -x');
    t.equal(m.placementStart, -1, 'placement unknown');
  });
  t.equal(p.gpus[0]!.migEnabled, true);
});

t.test('captures without MIG devices report none', async (t) => {
  for (const f of [fixture('nvidia', 'qx-h100.xml'), fixture('nvidia', 'qx-gb200.xml'), fixture('k8s-test-infra', 'qx-a100.xml')]) {
    t.ok(parseNvidiaSmiXml(read(f)).gpus.every((g) => g.migInstances === undefined), f);
  }
});

t.test('MIG profile table: (model, GPU memory, SMs, memory) -> the MIG user guide name', async (t) => {
  const cases: Array<[string, number, number, number, string]> = [
    ['NVIDIA A100-SXM4-40GB', 40960, 14, 4864, '1g.5gb'],
    ['NVIDIA A100-SXM4-40GB', 40960, 14, 9856, '1g.10gb'],
    ['NVIDIA A100-SXM4-40GB', 40960, 28, 9856, '2g.10gb'],
    ['NVIDIA A100-SXM4-40GB', 40960, 42, 19968, '3g.20gb'],
    ['NVIDIA A100-PCIE-40GB', 40960, 56, 19968, '4g.20gb'],
    ['NVIDIA A100-SXM4-40GB', 40960, 98, 40192, '7g.40gb'],
    ['NVIDIA A100-SXM4-80GB', 81920, 14, 9728, '1g.10gb'],
    ['NVIDIA A100-SXM4-80GB', 81920, 98, 81152, '7g.80gb'],
    ['NVIDIA H100 80GB HBM3', 81559, 16, 9984, '1g.10gb'],
    ['NVIDIA H100 80GB HBM3', 81559, 26, 20096, '1g.20gb'],
    ['NVIDIA H100 80GB HBM3', 81559, 32, 20096, '2g.20gb'],
    ['NVIDIA H100 80GB HBM3', 81559, 60, 40448, '3g.40gb'],
    ['NVIDIA H100 80GB HBM3', 81559, 64, 40448, '4g.40gb'],
    ['NVIDIA H100 80GB HBM3', 81559, 132, 81152, '7g.80gb'],
    ['NVIDIA H100 NVL', 95830, 16, 11264, '1g.12gb'],
    ['NVIDIA H200', 143771, 16, 16896, '1g.18gb'],
    ['NVIDIA H200', 143771, 132, 142848, '7g.141gb'],
    // No table: unknown, never a guess.
    ['NVIDIA L40S', 46068, 16, 9984, ''],
    ['NVIDIA A100-SXM4-80GB', 81920, 15, 19968, ''],
    ['NVIDIA A100-SXM4-80GB', 81920, 14, 40000, ''],
  ];
  for (const [model, gpuMiB, sms, mib, want] of cases) t.equal(migProfileName(model, gpuMiB, sms, mib), want, `${model} ${sms} SMs ${mib} MiB -> ${want || 'unknown'}`);
});

t.test('platformInfo of the real GB200 capture, per GPU as the file has it', async (t) => {
  const xml = read(fixture('nvidia', 'qx-gb200.xml'));
  const blocks = [...xml.matchAll(/<platformInfo>([\s\S]*?)<\/platformInfo>/g)].map((m) => m[1]!);
  const gpus = parseNvidiaSmiXml(xml).gpus;
  t.equal(blocks.length, gpus.length);
  blocks.forEach((b, i) => {
    t.same(gpus[i]!.platform, {
      chassisSerial: tags(b, 'chassis_serial_number')[0],
      slotNumber: Number(tags(b, 'slot_number')[0]),
      trayIndex: Number(tags(b, 'tray_index')[0]),
      hostId: Number(tags(b, 'host_id')[0]),
      moduleId: Number(tags(b, 'module_id')[0]),
      peerType: tags(b, 'peer_type')[0],
    });
  });
  t.equal(parseNvidiaSmiXml(read(fixture('nvidia', 'qx-h100.xml'))).gpus[0]!.platform, undefined, 'an HGX H100 reports no platformInfo');
});

t.test('fabric health: the real capture is healthy; derived ones say degraded and why', async (t) => {
  t.equal(parseNvidiaSmiXml(read(fixture('nvidia', 'qx-gb200.xml'))).fabric?.degradedReason, undefined);
  const cases: Array<[string, RegExp[]]> = [
    ['qx-gb200-fabric-recovery.xml', [/GPU 0: route_recovery_in_progress=True/, /GPU 2: incorrect_configuration=True/]],
    ['qx-gb200-fabric-unhealthy.xml', [/GPU 1: summary=Unhealthy/, /GPU 1: route_unhealthy=True/]],
  ];
  for (const [file, want] of cases) {
    const p = parseNvidiaSmiXml(read(join(derivedFixtures, file)));
    for (const w of want) t.match(p.fabric?.degradedReason, w, `${file}: ${w}`);
  }
  const rec = parseNvidiaSmiXml(read(join(derivedFixtures, 'qx-gb200-fabric-recovery.xml')));
  t.equal(rec.fabric?.trusted, true, 'registration Completed/Success: the domain is still named, only its health is degraded');
});
