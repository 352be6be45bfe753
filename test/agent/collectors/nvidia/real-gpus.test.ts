/**
 * Golden tests from real GPUs (fixtures/nvidia/h100-vm-580.159.04 and h200-vm-580.159.04: captured by
 * scripts/device/gpu-check.sh on lent machines, one H100 80GB HBM3 or one H200 passed through to a
 * VM, driver 580.159.04). Every expected value here was produced by the real driver or by the agent
 * running on the real GPU, not by our parsers:
 *   - the light probe's fields are all documented by that driver's `--help-query-gpu`;
 *   - its real `--query-gpu` answers (idle, and under a bf16 matrix-product load) parse, and the
 *     light path accepts them against the full probe's reading of the `-q -x` taken just before;
 *   - the stand-in nvidia-smi, serving that `-q -x`, answers `--query-gpu` as the real driver did;
 *   - `gantry agent inventory --json` over the stand-in gives the GPUs, firmware, topology and
 *     health that the same command printed on the real machine (gpu-check/inventory.json).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { judgeLightAnswer, LIGHT_QUERY_FIELDS, METRIC_QUERY_FIELDS, parseNvidiaSmiXml, parseQueryGpuCsv } from '../../../../agent/core/index.js';
import { localFixtures, standInNvidiaSmi } from '../fixtures.js';
import { runCli } from '../../sim.js';

const H100 = path.join(localFixtures, 'nvidia', 'h100-vm-580.159.04');
const H200 = path.join(localFixtures, 'nvidia', 'h200-vm-580.159.04');
const read = (dir: string, name: string): string => readFileSync(path.join(dir, name), 'utf8');

t.test("every light-probe field is one the real driver's --help-query-gpu documents", async (t) => {
  // (The H200 machine's driver is the same build; its --help-query-gpu was byte for byte the same.)
  const help = read(H100, 'help-query-gpu.txt');
  // Entries are lines of quoted names: `"index"`, or `"clocks_event_reasons.gpu_idle" or "clocks_throttle_reasons.gpu_idle"`.
  const documented = new Set<string>();
  for (const line of help.split('\n')) {
    if (!line.startsWith('"')) continue;
    for (const m of line.matchAll(/"([^"]+)"/g)) documented.add(m[1]!);
  }
  t.ok(documented.size > 100, `the help text lists ${documented.size} names`);
  for (const f of [...LIGHT_QUERY_FIELDS, ...METRIC_QUERY_FIELDS]) t.ok(documented.has(f), `${f} is documented by driver 580.159.04`);
});

interface Reading {
  powerWatts: number;
  utilizationRatio: number;
  memoryUsedBytes: number;
  swPowerCap: boolean;
  gpuIdle: boolean;
  swPowerCapUs: number;
  temperatureCelsius: number;
  processes: number;
}
const MIB = 2 ** 20;
/** Readings as the driver printed them (the CSV captures); under load, a bf16 matrix-product loop ran. */
const MACHINES: Array<{ name: string; dir: string; uuid: string; memoryMiB: number; idle: Reading; load: Reading }> = [
  {
    name: 'H100',
    dir: H100,
    uuid: 'GPU-43d4045a-e817-e733-4db0-99f6c8d7479e',
    memoryMiB: 81559,
    idle: { powerWatts: 72.88, utilizationRatio: 0, memoryUsedBytes: 0, swPowerCap: false, gpuIdle: true, swPowerCapUs: 0, temperatureCelsius: 36, processes: 0 },
    load: { powerWatts: 248.48, utilizationRatio: 1, memoryUsedBytes: 1011 * MIB, swPowerCap: true, gpuIdle: false, swPowerCapUs: 144944, temperatureCelsius: 51, processes: 1 },
  },
  {
    name: 'H200',
    dir: H200,
    uuid: 'GPU-e22830c8-97b3-b099-6fba-835b712f22d6',
    memoryMiB: 143771,
    idle: { powerWatts: 81.62, utilizationRatio: 0, memoryUsedBytes: 0, swPowerCap: false, gpuIdle: true, swPowerCapUs: 0, temperatureCelsius: 41, processes: 0 },
    load: { powerWatts: 334.91, utilizationRatio: 1, memoryUsedBytes: 1011 * MIB, swPowerCap: true, gpuIdle: false, swPowerCapUs: 243318, temperatureCelsius: 60, processes: 1 },
  },
];
const LIGHT_CASES = MACHINES.flatMap((m) => [
  { name: `${m.name} idle`, machine: m, xml: 'qx.xml', csv: 'query-gpu.csv', expect: m.idle },
  { name: `${m.name} under load`, machine: m, xml: 'qx-load.xml', csv: 'query-gpu-load.csv', expect: m.load },
]);

for (const c of LIGHT_CASES) {
  t.test(`the real light answer (${c.name}) parses and stands against the full probe`, async (t) => {
    const full = parseNvidiaSmiXml(read(c.machine.dir, c.xml));
    t.equal(full.gpus.length, 1);
    t.equal(full.samples[0]!.processCount, c.expect.processes, 'compute processes in the full probe');
    const parsed = parseQueryGpuCsv(read(c.machine.dir, c.csv), LIGHT_QUERY_FIELDS);
    t.same(parsed.errors, []);
    t.equal(parsed.rows.length, 1);
    t.notOk(parsed.rows[0]!.lost);
    const verdict = judgeLightAnswer(parsed, full.samples, null);
    if (!('samples' in verdict)) {
      t.fail(`the light answer was refused: ${verdict.reason}`);
      return;
    }
    const s = verdict.samples[0]!;
    t.equal(s.uuid, c.machine.uuid);
    t.equal(s.powerWatts, c.expect.powerWatts);
    t.equal(s.powerLimitWatts, 700);
    t.equal(s.utilizationRatio, c.expect.utilizationRatio);
    t.equal(s.memoryUsedBytes, c.expect.memoryUsedBytes);
    t.equal(s.memoryTotalBytes, c.machine.memoryMiB * MIB);
    t.equal(s.temperatureCelsius, c.expect.temperatureCelsius);
    t.equal(s.performanceState, 'P0');
    t.equal(s.eccEnabled, true);
    t.same(s.ecc, { volatileCorrectable: 0, volatileUncorrectable: 0, aggregateCorrectable: 0, aggregateUncorrectable: 0 });
    // Hopper has no page retirement (row remapping instead): the driver answers [N/A], read as no value.
    t.same(s.retiredPages, { singleBitCount: null, doubleBitCount: null, pending: null });
    t.same(s.remappedRows, { correctable: 0, uncorrectable: 0, pending: false, failure: false });
    t.equal(s.clockEventReasons.swPowerCap, c.expect.swPowerCap);
    t.equal(s.clockEventReasons.gpuIdle, c.expect.gpuIdle);
    t.equal(s.clockEventReasons.hwSlowdown, false);
    t.equal(s.clockEventCounters.swPowerCapUs, c.expect.swPowerCapUs);
    t.same([s.pcie.currentGen, s.pcie.maxGen, s.pcie.currentWidth, s.pcie.maxWidth], [5, 5, 16, 16]);
  });
}

/** Readings that move between two calls a second apart; the rest of the answer must be identical. */
const MOVING = new Set(['temperature.gpu', 'temperature.memory', 'power.draw', 'utilization.gpu', 'utilization.memory', 'memory.used']);
const moving = (f: string): boolean => MOVING.has(f) || f.startsWith('clocks_event_reasons_counters.');

for (const c of LIGHT_CASES) {
  t.test(`the stand-in answers --query-gpu from the real -q -x (${c.name}) as the real driver did`, async (t) => {
    const sim = execFileSync(standInNvidiaSmi, [`--query-gpu=${LIGHT_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'], {
      env: { PATH: process.env.PATH, NODE_OPTIONS: '', GANTRY_SIM_NVIDIA_XML: path.join(c.machine.dir, c.xml) },
      encoding: 'utf8',
    });
    const cells = (text: string): string[] => text.trim().split(',').map((x) => x.trim());
    const simCells = cells(sim);
    const realCells = cells(read(c.machine.dir, c.csv));
    t.equal(simCells.length, LIGHT_QUERY_FIELDS.length);
    t.equal(realCells.length, LIGHT_QUERY_FIELDS.length);
    LIGHT_QUERY_FIELDS.forEach((f, i) => {
      if (moving(f)) t.match(simCells[i], /^\d+(\.\d+)?$/, `${f}: a number, as the driver's ${realCells[i]}`);
      else t.equal(simCells[i], realCells[i], f);
    });
  });
}

for (const m of MACHINES) {
  t.test(`gantry agent inventory over the stand-in gives what it gave on the real ${m.name}`, async (t) => {
  const golden = JSON.parse(read(m.dir, 'gpu-check/inventory.json')) as Record<string, unknown> & { firmware: Record<string, unknown> };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-real-h100-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const emptyLog = path.join(dir, 'kmsg');
  writeFileSync(emptyLog, '');
  const r = await runCli(
    t,
    [
      'agent', 'inventory', '--json',
      '--node-name', 'gpu-check',
      '--nvidia-smi', standInNvidiaSmi,
      '--set', 'collectors.amd.enabled=false',
      '--set', 'collectors.host.enabled=false',
      '--set', `collectors.kernelLog.path=${emptyLog}`,
      '--set', `collectors.infiniband.root=${path.join(dir, 'no-infiniband')}`,
    ],
    {
      GANTRY_SIM_NVIDIA_XML: path.join(m.dir, 'qx.xml'),
      GANTRY_SIM_NVIDIA_TOPO: path.join(m.dir, 'topo-m.txt'),
      // The real `nvlink -s` of these passed-through GPUs printed nothing at all (exit 0).
      GANTRY_SIM_NVIDIA_NVLINK: path.join(m.dir, 'nvlink-s.txt'),
    },
  );
  t.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as Record<string, unknown> & { firmware: Record<string, unknown> };
  // The golden answer was captured before GpuInfo had minorNumber: compare the rest with it, and the
  // minor with the <minor_number> of the same machine's -q -x.
  const gpus = doc.gpus as Array<Record<string, unknown>>;
  const minors = [...read(m.dir, 'qx.xml').matchAll(/<minor_number>(\d+)<\/minor_number>/g)].map((x) => Number(x[1]));
  t.same(gpus.map((g) => g.minorNumber), minors, 'minor numbers from the capture');
  t.same(gpus.map(({ minorNumber: _minor, ...g }) => g), golden.gpus, 'GPUs');
  // `tool` (which tool answered, issue 24) is newer than the real GPU session's golden.
  const { hcas: _a, tool, ...fw } = doc.firmware;
  const { hcas: _b, ...goldenFw } = golden.firmware;
  t.same(fw, goldenFw, 'firmware');
  t.equal(tool, 'nvidia-smi', 'the firmware says nvidia-smi answered');
  t.same(doc.topology, golden.topology, 'topology (1x1 link matrix with the real header escapes, no NVLink groups, no fabric)');
  t.same(doc.health, golden.health, 'health verdicts');
  t.same(doc.health, [], 'a healthy GPU');
});
}
