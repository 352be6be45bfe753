import t from 'tap';
import { basename, join } from 'node:path';
import { ParseError } from '../../../../shared/errors/index.js';
import { parseNvidiaSmiXml, xmlWellFormedError } from '../../../../agent/core/index.js';
import { allNvidiaXmlCaptures, derivedFixtures, read, fixture } from '../../collectors/fixtures.js';

/** Facts read straight from the raw XML with regexes, independent of the parser. */
interface Expected {
  driver: string;
  gpus: Array<{ name: string; uuid: string; busId: string; domain: string; mig: boolean; lost: boolean; totalMiB: number | null; minor: number | null }>;
}

function tag(block: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(block);
  return m?.[1]?.trim();
}

function expectedFrom(xml: string): Expected {
  const header = xml.split(/<gpu id=/)[0] ?? '';
  const blocks = [...xml.matchAll(/<gpu id="([^"]*)">([\s\S]*?)<\/gpu>/g)];
  return {
    driver: tag(header, 'driver_version') ?? '',
    gpus: blocks.map((m) => {
      // MIG devices carry their own fb_memory_usage; look at the GPU's own elements only.
      const body = (m[2] ?? '').replace(/<mig_devices>[\s\S]*?<\/mig_devices>/, '');
      const fabric = /<fabric>([\s\S]*?)<\/fabric>/.exec(body)?.[1] ?? '';
      const state = tag(fabric, 'state');
      const status = tag(fabric, 'status');
      const clique = tag(fabric, 'cliqueId');
      const cluster = tag(fabric, 'clusterUuid') ?? '';
      const trusted = state === 'Completed' && status === 'Success' && /^[0-9a-f-]+$/i.test(cluster) && /[1-9a-f]/i.test(cluster) && /^\d+$/.test(clique ?? '');
      const fb = /<fb_memory_usage>([\s\S]*?)<\/fb_memory_usage>/.exec(body)?.[1] ?? '';
      const total = /^(\d+) MiB$/.exec(tag(fb, 'total') ?? '');
      return {
        name: tag(body, 'product_name') ?? '',
        uuid: tag(body, 'uuid') ?? '',
        // nvidia-smi writes an 8-hex-digit PCI domain; the NVML mock writes 4. Compare widened.
        busId: (m[1] ?? '').replace(/^([0-9a-f]{4}):/i, '0000$1:'),
        domain: trusted ? `${cluster}/${clique}` : '',
        mig: (/<mig_mode>[\s\S]*?<current_mig>([^<]*)<\/current_mig>/.exec(body)?.[1] ?? '') === 'Enabled',
        lost: body.includes('GPU is lost'),
        totalMiB: total ? Number(total[1]) : null,
        minor: /^\d+$/.test(tag(body, 'minor_number') ?? '') ? Number(tag(body, 'minor_number')) : null,
      };
    }),
  };
}

const captures = allNvidiaXmlCaptures();

t.test('finds the captures', async (t) => {
  t.ok(captures.length >= 25, `${captures.length} -q -x captures`);
});

for (const path of captures) {
  t.test(`parses ${basename(path)}`, async (t) => {
    const xml = read(path);
    const want = expectedFrom(xml);
    const got = parseNvidiaSmiXml(xml);
    t.equal(got.gpus.length, want.gpus.length, 'GPU count');
    t.equal(got.samples.length, want.gpus.length, 'one sample per GPU');
    t.equal(got.firmware.driverVersion, want.driver, 'driver version');
    got.gpus.forEach((g, i) => {
      const w = want.gpus[i];
      if (!w) return;
      t.equal(g.index, i);
      t.equal(g.vendor, 'nvidia');
      t.equal(g.name, w.name, `GPU ${i} name`);
      t.equal(g.uuid, w.uuid, `GPU ${i} uuid`);
      t.equal(g.pciBusId.toUpperCase(), w.busId.toUpperCase(), `GPU ${i} bus id`);
      t.equal(g.nvlinkDomain, w.domain, `GPU ${i} NVLink domain`);
      t.equal(g.migEnabled, w.mig, `GPU ${i} MIG`);
      if (w.totalMiB !== null) t.equal(g.memoryMiB, w.totalMiB, `GPU ${i} memory`);
      t.equal(g.minorNumber, w.minor, `GPU ${i} minor number (/dev/nvidia<minor>)`);
      t.equal(got.samples[i]?.lost, w.lost, `GPU ${i} lost flag`);
      t.equal(got.samples[i]?.uuid, w.uuid);
    });
  });
}

t.test('minor numbers: read from <minor_number>, not the index; N/A is null', async (t) => {
  const withMinors = captures.filter((p) => /<minor_number>\d+<\/minor_number>/.test(read(p)));
  t.ok(withMinors.length >= 10, `${withMinors.length} captures report minor numbers`);
  t.ok(captures.some((p) => read(p).includes('<minor_number>N/A</minor_number>')), 'some capture reports N/A');
  // The captures' minors equal their indexes; renumber one so a parser that used the index fails.
  const a100 = read(fixture('k8s-test-infra', 'qx-a100.xml'));
  const original = [...a100.matchAll(/<minor_number>(\d+)<\/minor_number>/g)].map((m) => Number(m[1]));
  t.ok(original.length >= 1);
  const shifted = a100.replace(/<minor_number>(\d+)<\/minor_number>/g, (_m, n: string) => `<minor_number>${Number(n) + 5}</minor_number>`);
  t.same(parseNvidiaSmiXml(shifted).gpus.map((g) => g.minorNumber), original.map((n) => n + 5));
  const na = a100.replace(/<minor_number>\d+<\/minor_number>/g, '<minor_number>N/A</minor_number>');
  t.ok(parseNvidiaSmiXml(na).gpus.every((g) => g.minorNumber === null), 'N/A is null');
  const garbled = a100.replace(/<minor_number>\d+<\/minor_number>/g, '<minor_number>-3x</minor_number>');
  t.ok(parseNvidiaSmiXml(garbled).gpus.every((g) => g.minorNumber === null), 'garbled is null');
  const absent = a100.replace(/<minor_number>\d+<\/minor_number>/g, '');
  t.ok(parseNvidiaSmiXml(absent).gpus.every((g) => g.minorNumber === null), 'absent is null');
});

t.test('gpu_recovery_action: None on real GB200 hardware, N/A is null, derived Reset/Reboot/Drain read as written', async (t) => {
  t.same(parseNvidiaSmiXml(read(fixture('nvidia', 'qx-gb200.xml'))).samples.map((s) => s.recoveryAction), ['None', 'None', 'None', 'None'], 'real GB200: None on every GPU');
  t.same(parseNvidiaSmiXml(read(fixture('k8s-test-infra', 'qx-gb200-healthy.xml'))).samples.map((s) => s.recoveryAction), [null, null], 'mock GB200: N/A');
  t.same(parseNvidiaSmiXml(read(fixture('telegraf', 'rtx-3060-v12.xml'))).samples.map((s) => s.recoveryAction), ['None'], 'GeForce, DTD v12');
  t.same(parseNvidiaSmiXml(read(fixture('telegraf', 'tesla-t4.xml'))).samples.map((s) => s.recoveryAction), [null], 'older driver without the element');
  const derived = (f: string) => parseNvidiaSmiXml(read(join(derivedFixtures, f))).samples.map((s) => s.recoveryAction);
  t.same(derived('qx-gb200-recovery-reset.xml'), ['None', 'Reset', 'None', 'None']);
  t.same(derived('qx-gb200-recovery-reboot.xml'), ['None', 'None', 'Reboot', 'None']);
  t.same(derived('qx-gb200-recovery-drain.xml'), ['None', 'None', 'None', 'Drain']);
});

t.test('fabric trust: zero cluster UUID on H100 is not a domain, GB200 is', async (t) => {
  const h100 = parseNvidiaSmiXml(read(fixture('nvidia', 'qx-h100.xml')));
  t.equal(h100.fabric?.state, 'Completed');
  t.equal(h100.fabric?.status, 'Success');
  t.equal(h100.fabric?.trusted, false);
  t.ok(h100.gpus.every((g) => g.nvlinkDomain === ''));
  const gb = parseNvidiaSmiXml(read(fixture('nvidia', 'qx-gb200.xml')));
  t.equal(gb.fabric?.trusted, true);
  t.equal(gb.fabric?.cliqueId, 2);
  t.ok(gb.gpus.every((g) => g.nvlinkDomain === `${gb.fabric?.clusterUuid}/2`));
  t.equal(gb.samples[0]?.fabric?.healthSummary, 'Healthy');
  const t4 = parseNvidiaSmiXml(read(fixture('k8s-test-infra', 'qx-t4.xml')));
  t.equal(t4.fabric, null, 'a board without fabric reports none');
});

t.test('samples: units and shapes', async (t) => {
  const h100 = parseNvidiaSmiXml(read(fixture('nvidia', 'qx-h100.xml')));
  const s = h100.samples[0];
  t.equal(s?.temperatureCelsius, 29);
  t.equal(s?.powerWatts, 68.92);
  t.equal(s?.utilizationRatio, 0);
  t.equal(s?.memoryUsedBytes, 0);
  t.equal(s?.memoryTotalBytes, 81559 * 1024 * 1024);
  t.equal(s?.pcie.currentGen, 5);
  t.equal(s?.pcie.currentWidth, 16);
  t.equal(s?.pcie.replayCounter, 150);
  t.equal(s?.clockEventCounters.swPowerCapUs, 7015662857);
  t.equal(s?.clockEventReasons.gpuIdle, true);
  t.equal(s?.clockEventReasons.hwSlowdown, false);
  t.same(s?.remappedRows, { correctable: 0, uncorrectable: 0, pending: false, failure: false });
  t.equal(h100.gpus[0]?.gspFirmwareVersion, '580.105.08');
  t.equal(h100.gpus[0]?.inforomVersion, 'G520.0200.00.05');
  t.equal(h100.gpus[0]?.numaNode, -1, 'NUMA comes from topo -m');

  // pre-535 throttle names, v11 power_readings
  const a10g = parseNvidiaSmiXml(read(fixture('telegraf', 'a10g.xml')));
  t.equal(a10g.samples[0]?.clockEventReasons.gpuIdle, true);
  t.equal(a10g.samples[0]?.powerWatts, 25.58);
  t.equal(a10g.samples[0]?.pcie.currentWidth, 8);

  // MIG: utilisation N/A, MIG flag on
  const mig = parseNvidiaSmiXml(read(fixture('telegraf', 'a100-sxm4-v12.xml')));
  t.equal(mig.gpus[0]?.migEnabled, true);
  t.equal(mig.samples[0]?.utilizationRatio, null);
  t.equal(mig.samples[0]?.remappedRows, null, 'remapped_rows N/A');

  // vGPU guest: throttle reasons N/A as a text body
  const vgpu = parseNvidiaSmiXml(read(fixture('telegraf', 'tesla_p4.xml')));
  t.equal(vgpu.samples[0]?.virtualizationMode, 'VGPU');
  t.equal(vgpu.samples[0]?.clockEventReasons.hwSlowdown, null);
  t.equal(vgpu.samples[0]?.processCount, 13);

  // v10, minimal: no driver version, no ECC
  const old = parseNvidiaSmiXml(read(fixture('telegraf', 'gtx-1070-ti.xml')));
  t.equal(old.firmware.driverVersion, '');
  t.equal(old.samples[0]?.ecc.volatileUncorrectable, null);
  t.equal(old.samples[0]?.powerWatts, null);
});

t.test('fault captures', async (t) => {
  const lost = parseNvidiaSmiXml(read(fixture('k8s-test-infra', 'qx-gb200-lost.xml')));
  t.equal(lost.samples[0]?.lost, false);
  t.equal(lost.samples[1]?.lost, true);
  t.ok((lost.samples[1]?.errorFields.length ?? 0) > 0);
  t.equal(lost.samples[1]?.temperatureCelsius, null);
  t.equal(lost.samples[1]?.remappedRows, null);
  t.equal(lost.gpus[1]?.memoryMiB, 0);

  const ecc = parseNvidiaSmiXml(read(fixture('k8s-test-infra', 'qx-gb200-ecc-injected.xml')));
  t.equal(ecc.samples[0]?.ecc.volatileUncorrectable, 5);
  t.equal(ecc.samples[0]?.ecc.aggregateUncorrectable, 8);
  t.equal(ecc.samples[0]?.remappedRows?.failure, true);
  t.equal(ecc.samples[1]?.ecc.volatileUncorrectable, 0);

  const thr = parseNvidiaSmiXml(read(fixture('k8s-test-infra', 'qx-gb200-throttle-counters.xml')));
  t.equal(thr.samples[0]?.clockEventCounters.swPowerCapUs, 39595);
  t.equal(thr.samples[1]?.clockEventCounters.swPowerCapUs, 0);
});

t.test('value markers: [N/A], Unknown Error (derived in memory from a real capture)', async (t) => {
  const xml = read(fixture('k8s-test-infra', 'qx-l40s.xml'))
    .replace(/<gpu_temp>[^<]*<\/gpu_temp>/, '<gpu_temp>[N/A]</gpu_temp>')
    .replace(/<instant_power_draw>[^<]*<\/instant_power_draw>/, '<instant_power_draw>Unknown Error</instant_power_draw>');
  const p = parseNvidiaSmiXml(xml);
  t.equal(p.samples[0]?.temperatureCelsius, null);
  t.equal(p.samples[0]?.unknownError, true);
  t.equal(p.samples[0]?.lost, false);
  t.match(p.samples[0]?.errorFields.join(' '), /instant_power_draw=Unknown Error/);
  t.not(p.samples[0]?.powerWatts, null, 'falls back to another power reading');
});

t.test('garbled or truncated XML is a ParseError', async (t) => {
  const real = read(fixture('k8s-test-infra', 'qx-t4.xml'));
  const cases: Array<[string, string]> = [
    ['empty', ''],
    ['whitespace', '  \n'],
    ['truncated', real.slice(0, Math.floor(real.length / 2))],
    ['cut inside a tag', real.slice(0, real.indexOf('<uuid>') + 4)],
    ['plain text', 'NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.'],
    ['garbled', `${real.slice(0, 500)}\u0000<<<garbled</gpu></nvidia_smi_log`],
    ['mismatched tags', '<nvidia_smi_log><gpu id="x"><uuid>GPU-1</serial></gpu></nvidia_smi_log>'],
    ['wrong root', '<?xml version="1.0" ?><other><gpu/></other>'],
  ];
  for (const [name, input] of cases) {
    t.throws(() => parseNvidiaSmiXml(input), ParseError, name);
  }
});

t.test('an empty log parses to no GPUs', async (t) => {
  const p = parseNvidiaSmiXml('<?xml version="1.0" ?>\n<nvidia_smi_log>\n</nvidia_smi_log>\n');
  t.equal(p.gpus.length, 0);
  t.equal(p.attachedGpus, 0);
  t.equal(p.fabric, null);
});

t.test('xmlWellFormedError: every real capture is well-formed; breakage is located', async (t) => {
  for (const path of allNvidiaXmlCaptures()) t.equal(xmlWellFormedError(read(path)), null, path);
  t.match(xmlWellFormedError('<a><b>x</a>'), /^line 1, column 8: closing tag <\/a> does not match <b>/);
  t.match(xmlWellFormedError('<a>\n<b>x</b>\n'), /<a> is not closed/);
  t.match(xmlWellFormedError('<a>\u0000</a>'), /control character U\+0000/);
  t.match(xmlWellFormedError('<a></a><b></b>'), /more than one root/);
  t.match(xmlWellFormedError('<a><<<garbled</a>'), /unexpected "<" inside a tag/);
  t.match(xmlWellFormedError('hello'), /text outside the root element/);
  t.equal(xmlWellFormedError('<?xml version="1.0" ?>\n<!DOCTYPE x SYSTEM "x.dtd">\n<!-- c -->\n<x a="1"><y/></x>\n'), null);
});
