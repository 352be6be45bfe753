import t from 'tap';
import { execFileSync } from 'node:child_process';
import { adaptFields, invalidQueryField, judgeLightAnswer, LIGHT_QUERY_FIELDS, METRIC_QUERY_FIELDS, parseNvidiaSmiXml, parseQueryGpuCsv, sampleFromRow, type GpuSample } from '../../../../agent/core/index.js';
import { allNvidiaXmlCaptures, localFixtures, read, fixture, standInNvidiaSmi } from '../../collectors/fixtures.js';
import { join } from 'node:path';

const H100_XML = join(localFixtures, 'nvidia/qx-h100.xml');
const EXPORTER_H100 = fixture('nvidia_gpu_exporter', 'linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt');

/** A `--query-gpu` section of the nvidia_gpu_exporter capture: the fields from its command line, and its output lines. */
function captureSection(state: 'idle' | 'load'): { fields: string[]; output: string } {
  const text = read(EXPORTER_H100);
  const start = text.indexOf(`# ${state} :: query-gpu (csv`);
  const cmd = /# \$ nvidia-smi --query-gpu=(\S+) --format=csv\n/.exec(text.slice(start))!;
  const after = text.slice(start + cmd.index + cmd[0].length).replace(/^#+\n/, '');
  const output = after.slice(0, after.indexOf('\n\n'));
  return { fields: cmd[1]!.split(','), output };
}

/** The capture's own header/value pairs, split here without the parser. */
function captureValues(state: 'idle' | 'load'): Map<string, string> {
  const [header, values] = captureSection(state).output.split('\n');
  const h = header!.split(', ').map((x) => x.replace(/ \[.*\]$/, ''));
  const v = values!.split(', ');
  return new Map(h.map((name, i) => [name, v[i]!]));
}

const h100Xml = parseNvidiaSmiXml(read(H100_XML));

t.test('golden: the real H100 --query-gpu capture (driver 590.48.01), idle and under load', async (t) => {
  for (const state of ['idle', 'load'] as const) {
    const { fields, output } = captureSection(state);
    t.equal(fields.length, 212, `${state}: all documented fields were asked for`);
    const parsed = parseQueryGpuCsv(output, fields);
    t.same(parsed.errors, [], `${state}: the header line is recognised, nothing else is an error`);
    t.equal(parsed.rows.length, 1);
    const row = parsed.rows[0]!;
    const want = captureValues(state);
    for (const f of LIGHT_QUERY_FIELDS) t.equal(row.cells[f], want.get(f), `${state}: ${f} cell`);
    const s = sampleFromRow(row, { ...h100Xml.samples[0]!, index: 0 });
    const n = (f: string) => Number.parseFloat(want.get(f)!);
    t.equal(s.temperatureCelsius, n('temperature.gpu'));
    t.equal(s.memoryTemperatureCelsius, n('temperature.memory'));
    t.equal(s.powerWatts, n('power.draw'));
    t.equal(s.powerLimitWatts, n('power.limit'));
    t.equal(s.utilizationRatio, n('utilization.gpu') / 100);
    t.equal(s.memoryUsedBytes, n('memory.used') * 2 ** 20);
    t.equal(s.memoryTotalBytes, n('memory.total') * 2 ** 20);
    t.equal(s.performanceState, want.get('pstate'));
    t.equal(s.eccEnabled, want.get('ecc.mode.current') === 'Enabled');
    t.equal(s.ecc.volatileUncorrectable, n('ecc.errors.uncorrected.volatile.total'));
    t.equal(s.ecc.aggregateCorrectable, n('ecc.errors.corrected.aggregate.total'));
    t.equal(want.get('retired_pages.pending'), '[N/A]', 'H100: page retirement is N/A (row remapping instead)');
    t.same(s.retiredPages, { singleBitCount: null, doubleBitCount: null, pending: null });
    // The readings only /metrics exports (DCGM_FI_DEV_SM_CLOCK, MEM_CLOCK, ENC_UTIL, DEC_UTIL, FB_RESERVED).
    for (const f of METRIC_QUERY_FIELDS) t.ok(fields.includes(f), `${state}: ${f} is a field this driver answers`);
    t.same(
      s.metricReadings,
      {
        smClockMHz: n('clocks.current.sm'),
        memoryClockMHz: n('clocks.current.memory'),
        encoderUtilizationRatio: n('utilization.encoder') / 100,
        decoderUtilizationRatio: n('utilization.decoder') / 100,
        memoryReservedBytes: n('memory.reserved') * 2 ** 20,
      },
      `${state}: clocks ${want.get('clocks.current.sm')}/${want.get('clocks.current.memory')}, encoder, decoder, reserved memory as the capture reads`,
    );
    t.same(s.remappedRows, {
      correctable: n('remapped_rows.correctable'),
      uncorrectable: n('remapped_rows.uncorrectable'),
      pending: want.get('remapped_rows.pending') === 'Yes',
      failure: want.get('remapped_rows.failure') === 'Yes',
    });
    t.equal(s.clockEventReasons.gpuIdle, want.get('clocks_event_reasons.gpu_idle') === 'Active');
    t.equal(s.clockEventReasons.hwSlowdown, want.get('clocks_event_reasons.hw_slowdown') === 'Active');
    t.equal(s.clockEventCounters.hwThermalSlowdownUs, n('clocks_event_reasons_counters.hw_thermal_slowdown'), '"0 us" with units');
    t.equal(s.pcie.currentWidth, n('pcie.link.width.current'));
    t.equal(s.pcie.replayCounter, h100Xml.samples[0]!.pcie.replayCounter, 'replays: kept from the full probe');
    t.equal(s.fabric, h100Xml.samples[0]!.fabric, 'fabric: kept from the full probe');
    t.equal(s.lost, false);
  }
  const idle = sampleFromRow(parseQueryGpuCsv(captureSection('idle').output, captureSection('idle').fields).rows[0]!, h100Xml.samples[0]!);
  const load = sampleFromRow(parseQueryGpuCsv(captureSection('load').output, captureSection('load').fields).rows[0]!, h100Xml.samples[0]!);
  t.equal(idle.clockEventReasons.gpuIdle, true, 'idle: gpu_idle Active');
  t.equal(load.clockEventReasons.gpuIdle, false);
  t.ok(load.utilizationRatio! > idle.utilizationRatio!, 'load: utilisation up');
});

const FIELDS = ['index', 'uuid', 'pci.bus_id', 'temperature.gpu', 'ecc.errors.uncorrected.volatile.total', 'remapped_rows.pending', 'clocks_event_reasons.hw_slowdown'];

t.test('values: [N/A], [Not Supported], [Unknown Error], [GPU is lost]; error lines kept apart', async (t) => {
  const out = [
    '0, GPU-a, 00000000:53:00.0, [N/A], [Not Supported], [Insufficient Permissions], Not Active',
    '1, GPU-b, 00000000:64:00.0, 40, 0, [Unknown Error], Active',
    '2, GPU-c, 00000000:75:00.0, [GPU is lost], [GPU is lost], [GPU is lost], [GPU is lost]',
    'Unable to determine the device handle for GPU0000:86:00.0: GPU is lost.  Reboot the system to recover this GPU',
    '',
  ].join('\n');
  const p = parseQueryGpuCsv(out, FIELDS);
  t.equal(p.rows.length, 3);
  t.same(p.errors, ['Unable to determine the device handle for GPU0000:86:00.0: GPU is lost.  Reboot the system to recover this GPU']);
  const base = h100Xml.samples[0]!;
  const [a, b, c] = p.rows.map((r) => sampleFromRow(r, base));
  t.equal(a!.temperatureCelsius, null, '[N/A]');
  t.equal(a!.ecc.volatileUncorrectable, null, '[Not Supported]');
  t.equal(a!.remappedRows, null, 'every remap reading absent: unsupported');
  t.equal(a!.clockEventReasons.hwSlowdown, false);
  t.notOk(a!.lost || a!.unknownError);
  t.equal(b!.unknownError, true);
  t.same(b!.errorFields, ['remapped_rows.pending=[Unknown Error]']);
  t.equal(b!.clockEventReasons.hwSlowdown, true);
  t.equal(c!.lost, true);
  t.equal(c!.errorFields.length, 4);
  t.equal(c!.temperatureCelsius, null);
});

t.test('legacy spelling is read for the current field name; refused fields adapt the list', async (t) => {
  const fields = ['index', 'uuid', 'pci.bus_id', 'clocks_throttle_reasons.hw_slowdown'];
  const row = parseQueryGpuCsv('0, GPU-a, 00000000:53:00.0, Active\n', fields).rows[0]!;
  t.equal(sampleFromRow(row, h100Xml.samples[0]!).clockEventReasons.hwSlowdown, true);

  t.equal(invalidQueryField('Field "clocks_event_reasons.hw_slowdown" is not a valid field to query.\n\n'), 'clocks_event_reasons.hw_slowdown');
  t.equal(invalidQueryField('0, GPU-a\n'), null);
  const reasons = adaptFields(LIGHT_QUERY_FIELDS, 'clocks_event_reasons.sync_boost')!;
  t.ok(reasons.includes('clocks_throttle_reasons.hw_slowdown') && !reasons.some((f) => f.startsWith('clocks_event_reasons.')), 'the whole family to its pre-535 names');
  t.equal(reasons.length, LIGHT_QUERY_FIELDS.length);
  t.same(adaptFields(reasons, 'clocks_throttle_reasons.gpu_idle')!.filter((f) => f.includes('reasons.')), [], 'legacy refused too: family dropped');
  const counters = adaptFields(LIGHT_QUERY_FIELDS, 'clocks_event_reasons_counters.hw_thermal_slowdown')!;
  t.equal(counters.length, LIGHT_QUERY_FIELDS.length - 5, 'counters: the family goes');
  t.same(adaptFields(LIGHT_QUERY_FIELDS, 'temperature.memory'), LIGHT_QUERY_FIELDS.filter((f) => f !== 'temperature.memory'));
  t.equal(adaptFields(LIGHT_QUERY_FIELDS, 'uuid'), null, 'identity refused: no light probe');
  t.equal(adaptFields(LIGHT_QUERY_FIELDS, 'not.asked'), null);
});

t.test('judgeLightAnswer: what the light answer cannot explain sends the full probe', async (t) => {
  const base: GpuSample[] = h100Xml.samples.slice(0, 2);
  const line = (s: GpuSample, temp = '30', ecc = '0', remap = 'No', hw = 'Not Active') =>
    `${s.index}, ${s.uuid}, ${s.pciBusId}, ${temp}, ${ecc}, ${remap}, ${hw}`;
  const ok = parseQueryGpuCsv(`${line(base[0]!)}\n${line(base[1]!, '31', '3')}\n`, FIELDS);
  const v = judgeLightAnswer(ok, base, null);
  t.ok('samples' in v);
  if ('samples' in v) {
    t.equal(v.samples[1]!.ecc.volatileUncorrectable, 3);
    t.equal(v.samples[1]!.temperatureCelsius, 31);
  }
  const reason = (csv: string, prev: GpuSample[] | null = null) => {
    const r = judgeLightAnswer(parseQueryGpuCsv(csv, FIELDS), base, prev);
    return 'reason' in r ? r.reason : 'explained';
  };
  t.match(reason(`${line(base[0]!)}\n`), /1 GPUs answered, the full probe saw 2/);
  t.match(reason(`${line(base[0]!)}\nUnable to determine the device handle for GPU0000:64:00.0: Unknown Error\n`), /nvidia-smi said: Unable to determine/);
  t.match(reason(`${line(base[0]!)}\n${line({ ...base[1]!, uuid: 'GPU-other' })}\n`), /GPU row 1 is 1\/GPU-other/);
  t.match(reason(`${line(base[0]!)}\n${line(base[1]!, '[GPU is lost]')}\n`), /GPU 1: temperature.gpu=\[GPU is lost\]/);
  t.match(reason(`${line(base[0]!)}\n${line({ ...base[1]!, pciBusId: '0000:64:00.0' })}\n`), /explained/, '4-digit PCI domain is the same GPU');
  const prev = 'samples' in v ? v.samples : null;
  t.match(reason(`${line(base[0]!)}\n${line(base[1]!, '31', '[N/A]')}\n`, prev), /GPU 1: ecc volatile uncorrectable went missing/);
  t.match(reason(`${line(base[0]!)}\n${line(base[1]!, '31', '[N/A]')}\n`, null), /explained/, 'right after a full probe there is nothing to compare');
});

t.test('the stand-in serves --query-gpu from every XML capture: the same readings as the XML parser', async (t) => {
  const captures = allNvidiaXmlCaptures();
  t.ok(captures.length >= 20);
  for (const path of captures) {
    const xml = parseNvidiaSmiXml(read(path));
    const env = { ...process.env, NODE_OPTIONS: '', GANTRY_SIM_NVIDIA_XML: path, GANTRY_SIM_MODE: 'ok' };
    // What the collector asks for: the readings health rules judge, then those only /metrics exports.
    const fields = [...LIGHT_QUERY_FIELDS, ...METRIC_QUERY_FIELDS];
    const out = execFileSync(standInNvidiaSmi, [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'], { env, encoding: 'utf8' });
    const parsed = parseQueryGpuCsv(out, fields);
    const name = path.split('/').slice(-2).join('/');
    t.same(parsed.errors, [], `${name}: no error lines`);
    t.equal(parsed.rows.length, xml.samples.length, `${name}: one row per GPU`);
    parsed.rows.forEach((row, i) => {
      const x = xml.samples[i]!;
      const s = sampleFromRow(row, x);
      // power.draw is nvidia-smi's (average) draw; the XML parser prefers the instant reading: not
      // compared. Error evidence names CSV fields on one side and XML paths on the other.
      const { powerWatts: _a, errorFields: ea, ...light } = s;
      const { powerWatts: _b, errorFields: eb, ...full } = x;
      t.same(light, full, `${name} GPU ${i}: light readings equal the full probe's`);
      t.equal(ea.length > 0, eb.length > 0, `${name} GPU ${i}: error evidence on both sides or neither`);
    });
  }
});
