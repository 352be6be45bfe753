/**
 * The light per-cycle probe through the real spawn/timeout/parse path: the stand-in nvidia-smi
 * answers `--query-gpu` from the XML capture it serves, and the test rewrites that capture between
 * probes to make faults appear (values from the real H100 capture, one element changed).
 */
import t, { type Test } from 'tap';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProbeFailedError, ProbeTimeoutError } from '../../../../shared/errors/index.js';
import { createNvidiaCollector, createProbeRunner } from '../../../../agent/collectors/index.js';
import { type GpuProbe } from '../../../../agent/core/index.js';
import { createHealthEvaluator } from '../../../../agent/health/index.js';
import { localFixtures, fixture, standInNvidiaSmi } from '../fixtures.js';

const H100_XML = join(localFixtures, 'nvidia/qx-h100.xml');

function simEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
  for (const k of Object.keys(env)) if (k.startsWith('GANTRY_SIM_')) delete env[k];
  return { ...env, ...extra };
}

/** A scratch copy of a capture the test may rewrite, a mode file, and a collector on them that records each argv. */
function setup(t: Test, capture = H100_XML, opts: { fullProbeEvery?: number; timeoutMs?: number; env?: Record<string, string> } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-light-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const xmlPath = join(dir, 'capture.xml');
  const modeFile = join(dir, 'mode');
  copyFileSync(capture, xmlPath);
  const calls: string[][] = [];
  const base = createProbeRunner();
  const runner = {
    busyKinds: () => base.busyKinds(),
    run: (cmd: string, args: readonly string[], o: Parameters<typeof base.run>[2]) => {
      calls.push([...args]);
      return base.run(cmd, args, o);
    },
  };
  const collector = createNvidiaCollector({
    binaryPath: standInNvidiaSmi,
    timeoutMs: opts.timeoutMs ?? 10_000,
    env: simEnv({ GANTRY_SIM_NVIDIA_XML: xmlPath, GANTRY_SIM_MODE_FILE: modeFile, ...opts.env }),
    runner,
    topology: false,
    nvlinkStatus: false,
    fullProbeEvery: opts.fullProbeEvery ?? 30,
  });
  const rewrite = (gpu: number, fn: (body: string) => string): void => {
    const xml = readFileSync(xmlPath, 'utf8');
    let i = 0;
    writeFileSync(
      xmlPath,
      xml.replace(/(<gpu id="[^"]+">)([\s\S]*?)(<\/gpu>)/g, (m, open: string, body: string, close: string) => (i++ === gpu ? `${open}${fn(body)}${close}` : m)),
    );
  };
  const kind = (args: readonly string[]): string => (args[0]?.startsWith('--query-gpu=') ? 'light' : args.join(' '));
  return { collector, calls, xmlPath, modeFile, rewrite, kind };
}

t.test('full at start, light between, full again every N probes', async (t) => {
  const { collector, calls, kind } = setup(t, H100_XML, { fullProbeEvery: 3 });
  const modes: string[] = [];
  let first: GpuProbe | undefined;
  let second: GpuProbe | undefined;
  for (let i = 0; i < 7; i++) {
    const p = await collector.probe();
    modes.push(p.mode ?? '?');
    if (i === 0) first = p;
    if (i === 1) second = p;
  }
  t.same(modes, ['full', 'light', 'light', 'full', 'light', 'light', 'full']);
  t.same(calls.map(kind), ['-q -x', 'light', 'light', '-q -x', 'light', 'light', '-q -x'], 'what ran: one nvidia-smi per probe');
  t.ok(calls[1]!.includes('--format=csv,noheader,nounits'));
  t.same(second!.gpus, first!.gpus, 'inventory from the full probe');
  t.same(second!.firmware, first!.firmware);
  t.equal(second!.attachedGpus, 8);
  t.same(second!.samples, first!.samples.map((s) => ({ ...s, powerWatts: second!.samples[s.index]!.powerWatts })), 'a healthy capture: same readings (power: average vs instant)');
  t.equal(second!.modeReason, undefined);
});

t.test('fullProbeEvery 1: no light probe at all', async (t) => {
  const { collector, calls, kind } = setup(t, H100_XML, { fullProbeEvery: 1 });
  await collector.probe();
  await collector.probe();
  t.same(calls.map(kind), ['-q -x', '-q -x']);
});

t.test('faults the light probe sees trip the health rules between full probes', async (t) => {
  const { collector, rewrite } = setup(t);
  const ev = createHealthEvaluator({ config: { expectedGpus: 8 } });
  const p1 = await collector.probe();
  t.equal(p1.mode, 'full');
  t.same(ev.evaluate({ probe: p1 }, 0).verdicts, [], 'the real capture is healthy');

  // GPU 3: two uncorrectable DRAM errors since driver load. GPU 5: 5 s of HW thermal slowdown in 10 s.
  rewrite(3, (b) => b.replace(/(<volatile>[\s\S]*?<dram_uncorrectable>)0(<\/dram_uncorrectable>)/, '$12$2'));
  rewrite(5, (b) =>
    b.replace(/(<clocks_event_reasons_counters_hw_therm_slowdown>)0 us/, '$15000000 us').replace(/(<clocks_event_reason_hw_thermal_slowdown>)Not Active/, '$1Active'),
  );
  // GPU 6: a row remap waiting for a reset.
  rewrite(6, (b) => b.replace(/(<remapped_row_pending>)No/, '$1Yes'));
  const p2 = await collector.probe();
  t.equal(p2.mode, 'light', 'still between full probes');
  t.equal(p2.samples[3]!.ecc.volatileUncorrectable, 2);
  t.equal(p2.samples[5]!.clockEventCounters.hwThermalSlowdownUs, 5_000_000);
  const verdicts = ev.evaluate({ probe: p2 }, 10_000).verdicts.map((v) => [v.check, v.severity, v.gpu]);
  t.same(verdicts, [
    ['ecc-uncorrectable', 'fail', 3],
    ['row-remap', 'warn', 6],
    ['throttle', 'warn', 5],
  ]);

  // The next light probe: the counter no longer grows, the ECC count and the remap stay.
  const p3 = await collector.probe();
  t.equal(p3.mode, 'light');
  t.same(
    ev.evaluate({ probe: p3 }, 20_000).verdicts.map((v) => [v.check, v.gpu]),
    [
      ['ecc-uncorrectable', 3],
      ['row-remap', 6],
    ],
  );
});

t.test('a GPU the light probe reads as lost sends the full probe at once', async (t) => {
  const { collector, xmlPath } = setup(t, fixture('k8s-test-infra', 'qx-gb200-healthy.xml'));
  const ev = createHealthEvaluator();
  t.equal((await collector.probe()).mode, 'full');
  t.equal((await collector.probe()).mode, 'light');
  copyFileSync(fixture('k8s-test-infra', 'qx-gb200-lost.xml'), xmlPath);
  const p = await collector.probe();
  t.equal(p.mode, 'full');
  t.match(p.modeReason, /GPU 1: .*GPU is lost/);
  t.equal(p.samples[1]!.lost, true);
  t.same(
    ev.evaluate({ probe: p }, 0).verdicts.filter((v) => v.check === 'gpu-lost').map((v) => v.gpu),
    [1],
  );
  t.equal((await collector.probe()).mode, 'full', 'a lost GPU keeps the full probe on');
  copyFileSync(fixture('k8s-test-infra', 'qx-gb200-healthy.xml'), xmlPath);
  t.equal((await collector.probe()).mode, 'full', 'clean again: one more full probe');
  t.equal((await collector.probe()).mode, 'light', 'then light');
});

t.test('a GPU that disappears, or a changed identity, sends the full probe', async (t) => {
  const { collector, xmlPath, rewrite } = setup(t);
  await collector.probe();
  const xml = readFileSync(xmlPath, 'utf8');
  // GPU 7 falls off the bus and the driver stops listing it.
  writeFileSync(xmlPath, xml.replace(/<gpu id="00000000:CA:00.0">[\s\S]*?<\/gpu>\s*/, ''));
  const p = await collector.probe();
  t.equal(p.mode, 'full');
  t.match(p.modeReason, /7 GPUs answered, the full probe saw 8/);
  t.equal(p.gpus.length, 7);
  t.same(createHealthEvaluator({ config: { expectedGpus: 8 } }).evaluate({ probe: p }, 0).verdicts.map((v) => v.check), ['gpu-count']);
  rewrite(2, (b) => b.replace(/<uuid>[^<]*<\/uuid>/, '<uuid>GPU-replaced</uuid>'));
  const q = await collector.probe();
  t.equal(q.mode, 'full');
  t.match(q.modeReason, /GPU row 2 is 2\/GPU-replaced/);
  t.equal(q.gpus[2]!.uuid, 'GPU-replaced');
});

t.test('a health reading that goes missing between light probes sends the full probe', async (t) => {
  const { collector, rewrite } = setup(t);
  await collector.probe();
  t.equal((await collector.probe()).mode, 'light');
  rewrite(4, (b) => b.replace(/(<volatile>[\s\S]*?<dram_uncorrectable>)0(<\/dram_uncorrectable>)/, '$1N/A$2').replace(/(<volatile>[\s\S]*?)<sram_uncorrectable_parity>0<\/sram_uncorrectable_parity>\s*<sram_uncorrectable_secded>0<\/sram_uncorrectable_secded>/, '$1'));
  const p = await collector.probe();
  t.equal(p.mode, 'full');
  t.match(p.modeReason, /GPU 4: ecc volatile uncorrectable went missing/);
});

t.test('modes through the light path: exit 15, NVML error on stderr, garbage, hang', async (t) => {
  const { collector, modeFile } = setup(t, H100_XML, { timeoutMs: 1500 });
  await collector.probe();
  writeFileSync(modeFile, 'exit15\n');
  const e15 = await collector.probe().catch((e: unknown) => e);
  t.ok(e15 instanceof ProbeFailedError, 'light saw the lost-GPU line, the full probe failed with it');
  t.match(String((e15 as Error).message), /GPU is lost/);
  writeFileSync(modeFile, '');
  t.equal((await collector.probe()).mode, 'full', 'after a failure: full');
  writeFileSync(modeFile, 'stderr');
  const es = await collector.probe().catch((e: unknown) => e);
  t.ok(es instanceof ProbeFailedError);
  t.match(String((es as Error).message), /Failed to initialize NVML/);
  writeFileSync(modeFile, '');
  await collector.probe();
  writeFileSync(modeFile, 'garbage');
  t.match(String(((await collector.probe().catch((e: unknown) => e)) as Error).message), /malformed XML/);
  writeFileSync(modeFile, '');
  await collector.probe();
  writeFileSync(modeFile, 'hang');
  const eh = await collector.probe().catch((e: unknown) => e);
  t.ok(eh instanceof ProbeTimeoutError, 'a hung light probe is a timeout');
  writeFileSync(modeFile, '');
  // The killed stand-in may take a moment to be reaped; until then the runner refuses the kind.
  let p: GpuProbe | undefined;
  for (let i = 0; i < 50 && !p; i++) {
    p = await collector.probe().catch(async () => {
      await new Promise((r) => setTimeout(r, 100));
      return undefined;
    });
  }
  t.equal(p?.mode, 'full', 'after a timeout: full');
});

t.test('a driver that refuses fields: the list adapts, at one full probe per refused family', async (t) => {
  const { collector, calls } = setup(t, H100_XML, { env: { GANTRY_SIM_QUERY_REFUSE: 'clocks_event_reasons_counters.*,clocks_event_reasons.*' } });
  await collector.probe();
  const p2 = await collector.probe();
  t.equal(p2.mode, 'full');
  t.match(p2.modeReason, /refused field "clocks_event_reasons\./);
  t.match(p2.warnings.join('\n'), /refused "clocks_event_reasons\./);
  const p3 = await collector.probe();
  t.equal(p3.mode, 'full');
  t.match(p3.modeReason, /refused field "clocks_event_reasons_counters\./);
  const p4 = await collector.probe();
  t.equal(p4.mode, 'light');
  const last = calls.at(-1)![0]!;
  t.match(last, /clocks_throttle_reasons\.hw_slowdown/, 'pre-535 names');
  t.notMatch(last, /clocks_event_reasons/);
  t.equal(p4.samples[0]!.clockEventReasons.gpuIdle, true, 'read under the legacy name');
  t.same(p4.samples[0]!.clockEventCounters, { swPowerCapUs: null, syncBoostUs: null, swThermalSlowdownUs: null, hwThermalSlowdownUs: null, hwPowerBrakeUs: null });
});

t.test('the readings only /metrics exports are fresh between full probes, not the full probe kept', async (t) => {
  const { collector, rewrite, calls, kind } = setup(t);
  const p1 = await collector.probe();
  t.equal(p1.mode, 'full');
  t.same(p1.samples[2]!.metricReadings, { smClockMHz: 345, memoryClockMHz: 2619, encoderUtilizationRatio: 0, decoderUtilizationRatio: 0, memoryReservedBytes: 480 * 2 ** 20 }, 'the capture: idle clocks');
  // GPU 2 under load: boost clock, the encoder busy.
  rewrite(2, (b) => b.replace(/(<clocks>\s*<graphics_clock>)345 MHz(<\/graphics_clock>\s*<sm_clock>)345 MHz/, '$11980 MHz$21980 MHz').replace(/(<encoder_util>)0 %/, '$137 %'));
  const p2 = await collector.probe();
  t.equal(p2.mode, 'light', 'a light probe');
  t.ok(calls.at(-1)!.some((a) => a.includes('clocks.current.sm')), 'which asks for the clocks');
  t.equal(kind(calls.at(-1)!), 'light');
  t.equal(p2.samples[2]!.metricReadings?.smClockMHz, 1980, 'the SM clock now');
  t.equal(p2.samples[2]!.metricReadings?.encoderUtilizationRatio, 0.37, 'the encoder now');
  t.equal(p2.samples[3]!.metricReadings?.smClockMHz, 345, 'another GPU unchanged');
});
