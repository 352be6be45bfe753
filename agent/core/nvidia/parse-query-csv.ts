/**
 * Pure parser of the light per-cycle probe, `nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits`,
 * and the rules that decide whether its answer can stand on its own (no I/O, no clock).
 *
 * Field names are the ones `nvidia-smi --help-query-gpu` documents (checked against the real
 * H100 / driver 590.48.01 capture in ../shared/fixtures/nvidia_gpu_exporter). Drivers before 535
 * only know the `clocks_throttle_reasons.*` spelling of the clock-event fields, and the
 * `clocks_event_reasons_counters.*` fields are newer still: `LEGACY_FIELD` and `dropInvalidField`
 * let the collector adapt its field list when nvidia-smi answers `Field "x" is not a valid field to query.`
 *
 * Values: `[N/A]`, `N/A`, `[Not Supported]`, `[Insufficient Permissions]` and any other bracketed
 * text read as absent (null); `[Unknown Error]` and `[GPU is lost]` read as absent and flag the GPU.
 * A line that is not a row of the requested width (e.g. "Unable to determine the device handle
 * for GPU0000:3B:00.0: GPU is lost...", printed in place of a lost GPU's row) is kept as an error line.
 */
import type { GpuSample } from '../types.js';
import { leadingNumber } from './parse-xml.js';
import { metricReadingsFromRow } from './parse-metric-readings.js';

/** What the light probe asks for, in this order. */
export const LIGHT_QUERY_FIELDS: readonly string[] = [
  'index',
  'uuid',
  'pci.bus_id',
  'temperature.gpu',
  'temperature.memory',
  'power.draw',
  'power.limit',
  'utilization.gpu',
  'utilization.memory',
  'memory.used',
  'memory.total',
  'pstate',
  'ecc.mode.current',
  'ecc.errors.corrected.volatile.total',
  'ecc.errors.uncorrected.volatile.total',
  'ecc.errors.corrected.aggregate.total',
  'ecc.errors.uncorrected.aggregate.total',
  'retired_pages.single_bit_ecc.count',
  'retired_pages.double_bit.count',
  'retired_pages.pending',
  'remapped_rows.correctable',
  'remapped_rows.uncorrectable',
  'remapped_rows.pending',
  'remapped_rows.failure',
  'clocks_event_reasons.gpu_idle',
  'clocks_event_reasons.applications_clocks_setting',
  'clocks_event_reasons.sw_power_cap',
  'clocks_event_reasons.hw_slowdown',
  'clocks_event_reasons.hw_thermal_slowdown',
  'clocks_event_reasons.hw_power_brake_slowdown',
  'clocks_event_reasons.sync_boost',
  'clocks_event_reasons.sw_thermal_slowdown',
  'clocks_event_reasons_counters.sw_power_cap',
  'clocks_event_reasons_counters.sync_boost',
  'clocks_event_reasons_counters.sw_thermal_slowdown',
  'clocks_event_reasons_counters.hw_thermal_slowdown',
  'clocks_event_reasons_counters.hw_power_brake_slowdown',
  'pcie.link.gen.current',
  'pcie.link.gen.max',
  'pcie.link.width.current',
  'pcie.link.width.max',
];

/** Without these a row cannot be matched to a GPU of the full probe: the light probe is off. */
export const IDENTITY_FIELDS: readonly string[] = ['index', 'uuid', 'pci.bus_id'];

/** The pre-535 spelling of a field, for drivers that refuse the current one. */
export function legacyField(field: string): string | undefined {
  return field.startsWith('clocks_event_reasons.') ? `clocks_throttle_reasons.${field.slice('clocks_event_reasons.'.length)}` : undefined;
}

/** The field nvidia-smi refused, from `Field "x" is not a valid field to query.`, else null. */
export function invalidQueryField(output: string): string | null {
  return /Field "([^"]+)" is not a valid field to query/.exec(output)?.[1] ?? null;
}

/**
 * The field list to use after nvidia-smi refused `refused`. Fields come in families that a driver
 * knows all or none of, so one refusal settles the family: a `clocks_event_reasons.*` field switches
 * every one of them to its pre-535 `clocks_throttle_reasons.*` name; a refused legacy name, or a
 * `clocks_event_reasons_counters.*` field (drivers before ~590), drops the family; any other field
 * is dropped alone. Null when an identity field was refused, or one we did not ask for.
 */
export function adaptFields(fields: readonly string[], refused: string): string[] | null {
  if (!fields.includes(refused) || IDENTITY_FIELDS.includes(refused)) return null;
  const family = refused.slice(0, refused.lastIndexOf('.') + 1);
  if (family === 'clocks_event_reasons.') return fields.map((f) => (f.startsWith(family) ? legacyField(f)! : f));
  if (family === 'clocks_throttle_reasons.' || family === 'clocks_event_reasons_counters.') return fields.filter((f) => !f.startsWith(family));
  return fields.filter((f) => f !== refused);
}

/** One row: raw cell per requested field (trimmed), and the error markers seen in it. */
export interface QueryRow {
  cells: Record<string, string>;
  lost: boolean;
  unknownError: boolean;
  /** `field=value` of cells that read an error (first few). */
  errorFields: string[];
}

export interface QueryGpuCsv {
  rows: QueryRow[];
  /** Lines that are not rows: error messages about a GPU or the query. */
  errors: string[];
}

const LOST = /gpu is lost/i;
const UNKNOWN_ERROR = /unknown error/i;

/** Strips the unit suffix nvidia-smi adds to header names without `nounits`: "memory.used [MiB]" -> "memory.used". */
function headerName(cell: string): string {
  return cell.replace(/\s*\[[^\]]*\]\s*$/, '').trim();
}

/**
 * Parses `--format=csv,noheader,nounits` output of `--query-gpu=<fields>` (a header line, and
 * values with units, are accepted too). Cells are split on commas: none of the light fields
 * contains one.
 */
export function parseQueryGpuCsv(text: string, fields: readonly string[]): QueryGpuCsv {
  const rows: QueryRow[] = [];
  const errors: string[] = [];
  const lines = text.split(/\r?\n/);
  let first = true;
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '') continue;
    const cells = line.split(',').map((c) => c.trim());
    if (first && cells.length === fields.length && cells.every((c, i) => headerName(c) === fields[i])) {
      first = false;
      continue; // a header line
    }
    first = false;
    if (cells.length !== fields.length) {
      errors.push(line);
      continue;
    }
    const row: QueryRow = { cells: {}, lost: false, unknownError: false, errorFields: [] };
    fields.forEach((f, i) => {
      const v = cells[i] ?? '';
      row.cells[f] = v;
      if (LOST.test(v) || UNKNOWN_ERROR.test(v)) {
        if (LOST.test(v)) row.lost = true;
        else row.unknownError = true;
        if (row.errorFields.length < 8) row.errorFields.push(`${f}=${v}`);
      }
    });
    rows.push(row);
  }
  return { rows, errors };
}

// ---------------------------------------------------------------- values

/** Text of a cell, or undefined when absent / N/A / bracketed (error markers included). */
function text(row: QueryRow, field: string): string | undefined {
  const v = row.cells[field];
  if (v === undefined) return undefined;
  const t = v.trim();
  if (t === '' || t.startsWith('[') || /^(n\/a|not supported|unknown|none)$/i.test(t)) return undefined;
  if (LOST.test(t) || UNKNOWN_ERROR.test(t)) return undefined;
  return t;
}

/** A cell under either spelling of the field (current, else pre-535). */
function cell(row: QueryRow, field: string): string | undefined {
  const v = text(row, field);
  if (v !== undefined) return v;
  const legacy = legacyField(field);
  return legacy ? text(row, legacy) : undefined;
}

function num(row: QueryRow, field: string): number | null {
  const v = cell(row, field);
  return v === undefined ? null : leadingNumber(v);
}

function yesNo(row: QueryRow, field: string): boolean | null {
  const v = cell(row, field)?.toLowerCase();
  if (v === undefined) return null;
  if (v === 'yes' || v === 'active' || v === 'enabled' || v === 'true') return true;
  if (v === 'no' || v === 'not active' || v === 'disabled' || v === 'false') return false;
  return null;
}

const MIB = 1024 ** 2;

function mib(row: QueryRow, field: string): number | null {
  const n = num(row, field);
  return n === null ? null : Math.round(n * MIB);
}

function ratio(row: QueryRow, field: string): number | null {
  const n = num(row, field);
  return n === null ? null : n / 100;
}

/**
 * A GPU sample from one light row over the last full probe's sample of that GPU (`base`): every
 * reading the light probe asks for replaces the base's (absent reads null, never the old value);
 * what only the full probe reads (fabric, PCIe replays, processes, virtualisation mode, the
 * display-clocks reason) is kept from the base.
 */
export function sampleFromRow(row: QueryRow, base: GpuSample): GpuSample {
  const rr = {
    correctable: num(row, 'remapped_rows.correctable'),
    uncorrectable: num(row, 'remapped_rows.uncorrectable'),
    pending: yesNo(row, 'remapped_rows.pending'),
    failure: yesNo(row, 'remapped_rows.failure'),
  };
  const remapUnsupported = rr.correctable === null && rr.uncorrectable === null && rr.pending === null && rr.failure === null;
  return {
    ...base,
    temperatureCelsius: num(row, 'temperature.gpu'),
    memoryTemperatureCelsius: num(row, 'temperature.memory'),
    powerWatts: num(row, 'power.draw'),
    powerLimitWatts: num(row, 'power.limit'),
    utilizationRatio: ratio(row, 'utilization.gpu'),
    memoryUtilizationRatio: ratio(row, 'utilization.memory'),
    memoryUsedBytes: mib(row, 'memory.used'),
    memoryTotalBytes: mib(row, 'memory.total'),
    performanceState: cell(row, 'pstate') ?? '',
    eccEnabled: yesNo(row, 'ecc.mode.current'),
    ecc: {
      volatileCorrectable: num(row, 'ecc.errors.corrected.volatile.total'),
      volatileUncorrectable: num(row, 'ecc.errors.uncorrected.volatile.total'),
      aggregateCorrectable: num(row, 'ecc.errors.corrected.aggregate.total'),
      aggregateUncorrectable: num(row, 'ecc.errors.uncorrected.aggregate.total'),
    },
    retiredPages: {
      singleBitCount: num(row, 'retired_pages.single_bit_ecc.count'),
      doubleBitCount: num(row, 'retired_pages.double_bit.count'),
      pending: yesNo(row, 'retired_pages.pending'),
    },
    remappedRows: remapUnsupported ? null : rr,
    clockEventReasons: {
      gpuIdle: yesNo(row, 'clocks_event_reasons.gpu_idle'),
      applicationsClocksSetting: yesNo(row, 'clocks_event_reasons.applications_clocks_setting'),
      swPowerCap: yesNo(row, 'clocks_event_reasons.sw_power_cap'),
      hwSlowdown: yesNo(row, 'clocks_event_reasons.hw_slowdown'),
      hwThermalSlowdown: yesNo(row, 'clocks_event_reasons.hw_thermal_slowdown'),
      hwPowerBrakeSlowdown: yesNo(row, 'clocks_event_reasons.hw_power_brake_slowdown'),
      syncBoost: yesNo(row, 'clocks_event_reasons.sync_boost'),
      swThermalSlowdown: yesNo(row, 'clocks_event_reasons.sw_thermal_slowdown'),
      displayClocksSetting: base.clockEventReasons.displayClocksSetting,
    },
    clockEventCounters: {
      swPowerCapUs: num(row, 'clocks_event_reasons_counters.sw_power_cap'),
      syncBoostUs: num(row, 'clocks_event_reasons_counters.sync_boost'),
      swThermalSlowdownUs: num(row, 'clocks_event_reasons_counters.sw_thermal_slowdown'),
      hwThermalSlowdownUs: num(row, 'clocks_event_reasons_counters.hw_thermal_slowdown'),
      hwPowerBrakeUs: num(row, 'clocks_event_reasons_counters.hw_power_brake_slowdown'),
    },
    pcie: {
      ...base.pcie,
      currentGen: num(row, 'pcie.link.gen.current'),
      maxGen: num(row, 'pcie.link.gen.max'),
      currentWidth: num(row, 'pcie.link.width.current'),
      maxWidth: num(row, 'pcie.link.width.max'),
    },
    metricReadings: metricReadingsFromRow((f) => num(row, f)),
    lost: row.lost,
    unknownError: row.unknownError,
    errorFields: row.errorFields,
  };
}

/** The readings health rules judge; one of them going from a value to none needs the full probe. */
const HEALTH_READINGS: ReadonlyArray<[string, (s: GpuSample) => unknown]> = [
  ['temperature', (s) => s.temperatureCelsius],
  ['ecc volatile uncorrectable', (s) => s.ecc.volatileUncorrectable],
  ['ecc mode', (s) => s.eccEnabled],
  ['retired pages pending', (s) => s.retiredPages.pending],
  ['retired pages (single-bit)', (s) => s.retiredPages.singleBitCount],
  ['retired pages (double-bit)', (s) => s.retiredPages.doubleBitCount],
  ['row remap pending', (s) => s.remappedRows?.pending ?? null],
  ['row remap failure', (s) => s.remappedRows?.failure ?? null],
  ['hw slowdown', (s) => s.clockEventReasons.hwSlowdown],
  ['hw thermal slowdown', (s) => s.clockEventReasons.hwThermalSlowdown],
  ['sw thermal slowdown', (s) => s.clockEventReasons.swThermalSlowdown],
  ['hw thermal slowdown counter', (s) => s.clockEventCounters.hwThermalSlowdownUs],
  ['hw power brake counter', (s) => s.clockEventCounters.hwPowerBrakeUs],
  ['sw thermal slowdown counter', (s) => s.clockEventCounters.swThermalSlowdownUs],
];

export type LightVerdict = { samples: GpuSample[] } | { reason: string };

/**
 * Whether a light answer can stand for this cycle, and the samples it gives. It cannot (and the
 * full probe must run now) when: nvidia-smi printed an error line; a GPU reads "GPU is lost" or
 * "Unknown Error"; the GPUs differ from the last full probe's (count, index, UUID or bus id); or a
 * reading the health rules judge had a value in the previous light answer and has none now.
 *
 * `base`: the last full probe's samples. `previous`: the last light samples, when the previous
 * cycle was light (null right after a full probe: the full document and the CSV do not always
 * have the same readings, and that difference is not a change).
 */
export function judgeLightAnswer(parsed: QueryGpuCsv, base: readonly GpuSample[], previous: readonly GpuSample[] | null): LightVerdict {
  if (parsed.errors.length > 0) return { reason: `nvidia-smi said: ${parsed.errors[0]!.slice(0, 200)}` };
  if (parsed.rows.length !== base.length) return { reason: `${parsed.rows.length} GPUs answered, the full probe saw ${base.length}` };
  const samples: GpuSample[] = [];
  for (let i = 0; i < parsed.rows.length; i++) {
    const row = parsed.rows[i]!;
    const b = base[i]!;
    if (row.lost || row.unknownError) return { reason: `GPU ${i}: ${row.errorFields.slice(0, 2).join('; ')}` };
    const index = num(row, 'index');
    const uuid = text(row, 'uuid') ?? '';
    const bus = text(row, 'pci.bus_id') ?? '';
    if (index !== b.index || uuid !== b.uuid || normaliseId(bus) !== normaliseId(b.pciBusId)) {
      return { reason: `GPU row ${i} is ${index}/${uuid}/${bus}, the full probe saw ${b.index}/${b.uuid}/${b.pciBusId}` };
    }
    const s = sampleFromRow(row, b);
    const p = previous?.[i];
    if (p) {
      for (const [name, get] of HEALTH_READINGS) {
        if (get(p) !== null && get(s) === null) return { reason: `GPU ${i}: ${name} went missing` };
      }
    }
    samples.push(s);
  }
  return { samples };
}

/** Bus ids compared without the 4- vs 8-digit domain difference. */
function normaliseId(id: string): string {
  const m = /^([0-9a-f]+):([0-9a-f]{2}:[0-9a-f]{2}\.[0-7])$/i.exec(id.trim());
  return m ? `${Number.parseInt(m[1]!, 16)}:${m[2]!.toUpperCase()}` : id.trim().toUpperCase();
}
