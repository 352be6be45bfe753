/**
 * Pure parser of `nvidia-smi -q -x` (DTD v10 to v13, Linux and Windows, bare metal, vGPU guests,
 * MIG, lost GPUs). No I/O, no clock.
 *
 * Element names drift between drivers; each reading below lists every name it has been seen under,
 * newest first. A value that reads N/A, [N/A], Not Supported, "Unknown Error" or "GPU is lost"
 * becomes null; the last two also flag the GPU (`unknownError` / `lost`).
 *
 * Well-formedness is checked first by `xmlWellFormedError` (one scan over the markup: balanced,
 * properly nested tags, one root, no control characters), so garbled or truncated output is a
 * ParseError, not a half-read inventory. It replaced fast-xml-parser's XMLValidator: the full probe
 * runs every 30th cycle, where its code is cold, and the validator's separate pass cost ~50 ms of the
 * cycle there against a few ms for this scan.
 *
 * About 550 lines, over the usual 400, on purpose: one document format, read in one pass, with the
 * element-name variants of every driver beside the reading they feed. Its parts (the scan, the
 * readers of one GPU's sections, the node-level fabric) share the small element helpers at the top.
 */
import { XMLParser } from 'fast-xml-parser';
import { ParseError } from '../../../shared/errors/index.js';
import { fabricDegradation, migInstancesOf, platformOf } from './parse-xml-hw.js';
import type { FabricInfo, FirmwareInfo, GpuInfo } from '../../../shared/domain/index.js';
import { metricReadingsFromXml } from './parse-metric-readings.js';
import type {
  ClockEventCounters,
  ClockEventReasons,
  EccCounts,
  GpuFabric,
  GpuSample,
  PcieLink,
  RemappedRows,
  RetiredPages,
} from '../types.js';

export interface NvidiaSmiXml {
  firmware: FirmwareInfo;
  /** `attached_gpus` as reported (gpus.length when absent). */
  attachedGpus: number;
  /** numaNode is -1 and linkRow empty here: they come from `topo -m`. */
  gpus: GpuInfo[];
  samples: GpuSample[];
  /** Node-level fabric view; null when no GPU reports fabric state. */
  fabric: FabricInfo | null;
  timestamp: string;
}

type Node = Record<string, unknown>;

const SOURCE = 'nvidia-smi -q -x';
const ZERO_UUID = /^[0-]+$/;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  isArray: (name) => name === 'gpu' || name === 'mig_device' || name === 'process_info',
});

// ---------------------------------------------------------------- value helpers

const ABSENT = new Set(['', 'n/a', '[n/a]', 'not supported', '[not supported]', 'none', 'unknown', 'insufficient permissions', '[insufficient permissions]']);
const LOST = /gpu is lost/i;
const UNKNOWN_ERROR = /unknown error/i;

/** Tracks error-valued elements seen while reading one GPU. */
class Reader {
  lost = false;
  unknownError = false;
  errorFields: string[] = [];
  constructor(readonly root: Node) {}

  /** Raw trimmed text at a slash path, or undefined. */
  raw(path: string, from: unknown = this.root): string | undefined {
    let cur: unknown = from;
    for (const part of path.split('/')) {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
      cur = (cur as Node)[part];
    }
    if (cur === undefined || cur === null) return undefined;
    if (typeof cur === 'object') {
      const t = (cur as Node)['#text'];
      return typeof t === 'string' ? t.trim() : undefined;
    }
    return String(cur).trim();
  }

  /** Text with absent markers mapped to undefined and error markers flagged. */
  text(path: string, from?: unknown): string | undefined {
    const v = this.raw(path, from);
    if (v === undefined) return undefined;
    if (LOST.test(v) || UNKNOWN_ERROR.test(v)) {
      if (LOST.test(v)) this.lost = true;
      else this.unknownError = true;
      if (this.errorFields.length < 8) this.errorFields.push(`${path}=${v}`);
      return undefined;
    }
    if (ABSENT.has(v.toLowerCase())) return undefined;
    return v;
  }

  /** First present text among alternative paths. */
  first(...paths: string[]): string | undefined {
    for (const p of paths) {
      const v = this.text(p);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  num(...paths: string[]): number | null {
    const v = this.first(...paths);
    return v === undefined ? null : leadingNumber(v);
  }

  yesNo(...paths: string[]): boolean | null {
    const v = this.first(...paths);
    if (v === undefined) return null;
    const l = v.toLowerCase();
    if (l === 'yes' || l === 'true' || l === 'enabled' || l === 'active') return true;
    if (l === 'no' || l === 'false' || l === 'disabled' || l === 'not active') return false;
    return null;
  }

  obj(path: string): Node | undefined {
    let cur: unknown = this.root;
    for (const part of path.split('/')) {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
      cur = (cur as Node)[part];
    }
    return cur !== null && typeof cur === 'object' && !Array.isArray(cur) ? (cur as Node) : undefined;
  }
}

/** "68.57 W" -> 68.57, "16x" -> 16, "0x5300" -> 0x5300, "-8 C" -> -8. */
export function leadingNumber(s: string): number | null {
  const t = s.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return Number.parseInt(t, 16);
  const m = /^[-+]?\d+(?:\.\d+)?/.exec(t);
  if (!m) return null;
  const n = Number(m[0]);
  return Number.isFinite(n) ? n : null;
}

/** "81559 MiB" -> bytes. */
export function memoryBytes(s: string | undefined): number | null {
  if (s === undefined) return null;
  const m = /^([-+]?\d+(?:\.\d+)?)\s*([KMGT]i?B)?/i.exec(s.trim());
  if (!m || m[1] === undefined) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'B').toUpperCase();
  const mult: Record<string, number> = {
    B: 1,
    KB: 1e3,
    KIB: 1024,
    MB: 1e6,
    MIB: 1024 ** 2,
    GB: 1e9,
    GIB: 1024 ** 3,
    TB: 1e12,
    TIB: 1024 ** 4,
  };
  return Math.round(n * (mult[unit] ?? 1));
}

/** `<minor_number>`: a non-negative integer, else null (N/A, absent, garbled). */
function minorNumber(s: string | undefined): number | null {
  if (s === undefined || !/^\d{1,7}$/.test(s)) return null;
  return Number(s);
}

function ratio(pct: number | null): number | null {
  return pct === null ? null : pct / 100;
}

// ---------------------------------------------------------------- per-GPU sections

const REASONS: Array<[keyof ClockEventReasons, string]> = [
  ['gpuIdle', 'gpu_idle'],
  ['applicationsClocksSetting', 'applications_clocks_setting'],
  ['swPowerCap', 'sw_power_cap'],
  ['hwSlowdown', 'hw_slowdown'],
  ['hwThermalSlowdown', 'hw_thermal_slowdown'],
  ['hwPowerBrakeSlowdown', 'hw_power_brake_slowdown'],
  ['syncBoost', 'sync_boost'],
  ['swThermalSlowdown', 'sw_thermal_slowdown'],
  ['displayClocksSetting', 'display_clocks_setting'],
];

function clockEventReasons(r: Reader): ClockEventReasons {
  const out = {} as ClockEventReasons;
  for (const [key, suffix] of REASONS) {
    out[key] = r.yesNo(
      `clocks_event_reasons/clocks_event_reason_${suffix}`,
      `clocks_throttle_reasons/clocks_throttle_reason_${suffix}`,
    );
  }
  return out;
}

function clockEventCounters(r: Reader): ClockEventCounters {
  const c = (name: string): number | null =>
    r.num(`clocks_event_reasons_counters/clocks_event_reasons_counters_${name}`, `clocks_throttle_reasons_counters/clocks_throttle_reasons_counters_${name}`);
  return {
    swPowerCapUs: c('sw_power_cap'),
    syncBoostUs: c('sync_boost'),
    swThermalSlowdownUs: c('sw_therm_slowdown'),
    hwThermalSlowdownUs: c('hw_therm_slowdown'),
    hwPowerBrakeUs: c('hw_power_brake'),
  };
}

/** Sum of the present values; null when none is present. */
function sumPresent(values: Array<number | null>): number | null {
  let any = false;
  let s = 0;
  for (const v of values) {
    if (v !== null) {
      any = true;
      s += v;
    }
  }
  return any ? s : null;
}

function eccSide(r: Reader, side: 'volatile' | 'aggregate'): { correctable: number | null; uncorrectable: number | null } {
  const base = `ecc_errors/${side}`;
  // v12+/v13: dram_* and sram_* counters.
  const dramC = r.num(`${base}/dram_correctable`);
  const dramU = r.num(`${base}/dram_uncorrectable`);
  const sramC = r.num(`${base}/sram_correctable`);
  const sramU = sumPresent([
    r.num(`${base}/sram_uncorrectable`),
    r.num(`${base}/sram_uncorrectable_parity`),
    r.num(`${base}/sram_uncorrectable_secded`),
  ]);
  // v10/v11 (Pascal-era): single_bit / double_bit totals.
  const sbe = r.num(`${base}/single_bit/total`);
  const dbe = r.num(`${base}/double_bit/total`);
  return {
    correctable: sumPresent([dramC, sramC, sbe]),
    uncorrectable: sumPresent([dramU, sramU, dbe]),
  };
}

function ecc(r: Reader): EccCounts {
  const v = eccSide(r, 'volatile');
  const a = eccSide(r, 'aggregate');
  return {
    volatileCorrectable: v.correctable,
    volatileUncorrectable: v.uncorrectable,
    aggregateCorrectable: a.correctable,
    aggregateUncorrectable: a.uncorrectable,
  };
}

function retiredPages(r: Reader): RetiredPages {
  return {
    singleBitCount: r.num('retired_pages/multiple_single_bit_retirement/retired_count'),
    doubleBitCount: r.num('retired_pages/double_bit_retirement/retired_count'),
    pending: r.yesNo('retired_pages/pending_retirement', 'retired_pages/pending_blacklist'),
  };
}

function remappedRows(r: Reader): RemappedRows | null {
  // "N/A" (unsupported) or "GPU is lost" come as a text body instead of children.
  if (!r.obj('remapped_rows')) {
    r.text('remapped_rows');
    return null;
  }
  return {
    correctable: r.num('remapped_rows/remapped_row_corr'),
    uncorrectable: r.num('remapped_rows/remapped_row_unc'),
    pending: r.yesNo('remapped_rows/remapped_row_pending'),
    failure: r.yesNo('remapped_rows/remapped_row_failure'),
  };
}

function pcie(r: Reader): PcieLink {
  const base = 'pci/pci_gpu_link_info';
  return {
    currentGen: r.num(`${base}/pcie_gen/current_link_gen`, `${base}/pcie_gen/device_current_link_gen`),
    maxGen: r.num(`${base}/pcie_gen/max_link_gen`, `${base}/pcie_gen/max_device_link_gen`),
    currentWidth: r.num(`${base}/link_widths/current_link_width`),
    maxWidth: r.num(`${base}/link_widths/max_link_width`),
    replayCounter: r.num('pci/replay_counter'),
  };
}

/** `gpu_recovery_action` (R550+ drivers, directly under <gpu>): its text, "None" kept; N/A or absent -> null. */
function recoveryAction(r: Reader): string | null {
  const v = r.raw('gpu_recovery_action');
  if (v === undefined || v === '' || /^\[?n\/a\]?$/i.test(v) || /not supported/i.test(v)) return null;
  return v;
}

/** Whether fabric info may be used as an NVLink domain: Completed, Success, non-zero cluster UUID. */
export function isFabricTrusted(state: string, status: string, clusterUuid: string): boolean {
  return state === 'Completed' && status === 'Success' && clusterUuid !== '' && !ZERO_UUID.test(clusterUuid);
}

function fabric(r: Reader): GpuFabric | null {
  if (!r.obj('fabric')) return null;
  const state = r.text('fabric/state') ?? '';
  const status = r.text('fabric/status') ?? '';
  const clusterUuid = r.text('fabric/clusterUuid') ?? '';
  const cliqueId = r.num('fabric/cliqueId');
  if (!state && !status && !clusterUuid && cliqueId === null) return null;
  return {
    state,
    status,
    cliqueId,
    clusterUuid,
    healthSummary: r.text('fabric/health/summary') ?? '',
    bandwidth: r.text('fabric/health/bandwidth') ?? '',
    routeUnhealthy: r.text('fabric/health/route_unhealthy') ?? '',
    trusted: isFabricTrusted(state, status, clusterUuid) && cliqueId !== null,
    degraded: fabricDegradation(r.root),
  };
}

/** MIG instances and platformInfo (issue 24, parse-xml-hw.ts), present only where the GPU reports them. */
function gpuHardware(g: Node, model: string, memoryTotalBytes: number | null): Pick<GpuInfo, 'migInstances' | 'platform'> {
  const migs = migInstancesOf(g, model, memoryTotalBytes === null ? 0 : Math.round(memoryTotalBytes / 1024 ** 2));
  const platform = platformOf(g);
  return { ...(migs.length > 0 ? { migInstances: migs } : {}), ...(platform ? { platform } : {}) };
}

function processCount(gpu: Node): number {
  const procs = gpu['processes'];
  if (procs === null || typeof procs !== 'object') return 0;
  const list = (procs as Node)['process_info'];
  return Array.isArray(list) ? list.length : 0;
}

/** Scan every leaf for error markers the named readings did not touch (e.g. fb_memory_usage/free). */
function scanErrors(node: unknown, path: string, r: Reader): void {
  if (node === null || node === undefined) return;
  if (typeof node !== 'object') {
    const v = String(node);
    if (LOST.test(v) || UNKNOWN_ERROR.test(v)) {
      if (LOST.test(v)) r.lost = true;
      else r.unknownError = true;
      if (r.errorFields.length < 8 && !r.errorFields.some((f) => f.startsWith(`${path}=`))) r.errorFields.push(`${path}=${v.trim()}`);
    }
    return;
  }
  if (Array.isArray(node)) {
    node.forEach((n, i) => scanErrors(n, `${path}[${i}]`, r));
    return;
  }
  for (const [k, v] of Object.entries(node as Node)) {
    if (k.startsWith('@_')) continue;
    scanErrors(v, path ? `${path}/${k}` : k, r);
  }
}

// ---------------------------------------------------------------- document

const NAME = /^[A-Za-z_:][\w.:-]*$/;
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;

/**
 * Why `xml` is not a well-formed document (with line and column), or null when it is. Checks what
 * garbled or cut-off tool output breaks: every tag closed, in order, one root element, nothing but
 * whitespace outside it, no control characters, no stray `<`. Pure.
 */
export function xmlWellFormedError(xml: string): string | null {
  const at = (offset: number, msg: string): string => {
    const before = xml.slice(0, offset);
    const line = before.split('\n').length;
    return `line ${line}, column ${offset - before.lastIndexOf('\n')}: ${msg}`;
  };
  const ctl = CONTROL.exec(xml);
  if (ctl) return at(ctl.index, `control character U+${ctl[0].charCodeAt(0).toString(16).padStart(4, '0')}`);
  const stack: string[] = [];
  let roots = 0;
  let pos = 0;
  while (pos < xml.length) {
    const lt = xml.indexOf('<', pos);
    const textEnd = lt === -1 ? xml.length : lt;
    if (stack.length === 0 && xml.slice(pos, textEnd).trim() !== '') return at(pos, 'text outside the root element');
    if (lt === -1) break;
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt + 4);
      if (end === -1) return at(lt, 'unclosed comment');
      pos = end + 3;
      continue;
    }
    const gt = xml.indexOf('>', lt + 1);
    if (gt === -1) return at(lt, 'unclosed tag');
    const inner = xml.slice(lt + 1, gt);
    if (inner.includes('<')) return at(lt, 'unexpected "<" inside a tag');
    pos = gt + 1;
    if (inner.startsWith('?') || inner.startsWith('!')) {
      if (stack.length > 0 && inner.startsWith('!')) return at(lt, 'declaration inside an element');
      continue;
    }
    if (inner.startsWith('/')) {
      const name = inner.slice(1).trim();
      const open = stack.pop();
      if (open === undefined) return at(lt, `closing tag </${name}> without an open element`);
      if (open !== name) return at(lt, `closing tag </${name}> does not match <${open}>`);
      continue;
    }
    const selfClosing = inner.endsWith('/');
    const name = /^[^\s/]*/.exec(inner)![0];
    if (!NAME.test(name)) return at(lt, `bad tag name ${JSON.stringify(name.slice(0, 40))}`);
    if (stack.length === 0) {
      roots++;
      if (roots > 1) return at(lt, 'more than one root element');
    }
    if (!selfClosing) stack.push(name);
  }
  if (stack.length > 0) return `end of input: <${stack[stack.length - 1]}> is not closed`;
  if (roots === 0) return 'no element';
  return null;
}

export function parseDocument(xml: string): Node {
  if (typeof xml !== 'string' || xml.trim() === '') throw new ParseError(SOURCE, 'empty output');
  const bad = xmlWellFormedError(xml);
  if (bad !== null) throw new ParseError(SOURCE, `malformed XML at ${bad}`);
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch (err) {
    throw new ParseError(SOURCE, (err as Error).message, { cause: err });
  }
  const root = (doc as Node)['nvidia_smi_log'];
  if (root === null || typeof root !== 'object') {
    // An empty <nvidia_smi_log/> parses as ''.
    if (root === '') return {};
    throw new ParseError(SOURCE, 'no <nvidia_smi_log> root element');
  }
  return root as Node;
}

export function parseNvidiaSmiXml(xml: string): NvidiaSmiXml {
  const root = parseDocument(xml);
  const top = new Reader(root);
  const firmware: FirmwareInfo = {
    driverVersion: top.text('driver_version') ?? '',
    cudaVersion: top.text('cuda_version') ?? '',
  };
  const rawGpus = root['gpu'];
  const gpuNodes: Node[] = Array.isArray(rawGpus) ? rawGpus.filter((g): g is Node => g !== null && typeof g === 'object') : [];

  const gpus: GpuInfo[] = [];
  const samples: GpuSample[] = [];
  gpuNodes.forEach((g, index) => {
    const r = new Reader(g);
    const pciBusId = normaliseBusId(r.text('@_id') ?? r.text('pci/pci_bus_id') ?? '');
    const uuid = r.text('uuid') ?? '';
    const memoryTotal = memoryBytes(r.text('fb_memory_usage/total'));
    const gpuFabric = fabric(r);
    gpus.push({
      index,
      uuid,
      name: r.text('product_name') ?? '',
      vendor: 'nvidia',
      memoryMiB: memoryTotal === null ? 0 : Math.round(memoryTotal / 1024 ** 2),
      pciBusId,
      serial: r.text('serial') ?? '',
      vbiosVersion: r.text('vbios_version') ?? '',
      inforomVersion: r.text('inforom_version/img_version') ?? '',
      gspFirmwareVersion: r.text('gsp_firmware_version') ?? '',
      numaNode: -1,
      nvlinkDomain: gpuFabric?.trusted ? `${gpuFabric.clusterUuid}/${gpuFabric.cliqueId}` : '',
      linkRow: [],
      migEnabled: r.text('mig_mode/current_mig') === 'Enabled',
      minorNumber: minorNumber(r.text('minor_number')),
      ...gpuHardware(g, r.text('product_name') ?? '', memoryTotal),
    });
    const memUsed = memoryBytes(r.text('fb_memory_usage/used'));
    const sample: GpuSample = {
      index,
      uuid,
      pciBusId,
      temperatureCelsius: r.num('temperature/gpu_temp'),
      memoryTemperatureCelsius: r.num('temperature/memory_temp'),
      powerWatts: r.num(
        'gpu_power_readings/instant_power_draw',
        'gpu_power_readings/power_draw',
        'power_readings/power_draw',
        'gpu_power_readings/average_power_draw',
        'power_readings/average_power_draw',
      ),
      powerLimitWatts: r.num(
        'gpu_power_readings/current_power_limit',
        'gpu_power_readings/enforced_power_limit',
        'power_readings/enforced_power_limit',
        'gpu_power_readings/power_limit',
        'power_readings/power_limit',
      ),
      utilizationRatio: ratio(r.num('utilization/gpu_util')),
      memoryUtilizationRatio: ratio(r.num('utilization/memory_util')),
      memoryUsedBytes: memUsed,
      memoryTotalBytes: memoryTotal,
      performanceState: r.text('performance_state') ?? '',
      eccEnabled: r.yesNo('ecc_mode/current_ecc'),
      ecc: ecc(r),
      retiredPages: retiredPages(r),
      remappedRows: remappedRows(r),
      clockEventReasons: clockEventReasons(r),
      clockEventCounters: clockEventCounters(r),
      pcie: pcie(r),
      fabric: gpuFabric,
      lost: false,
      unknownError: false,
      errorFields: [],
      processCount: processCount(g),
      virtualizationMode: r.text('gpu_virtualization_mode/virtualization_mode') ?? '',
      recoveryAction: recoveryAction(r),
      metricReadings: metricReadingsFromXml((path) => r.num(path)),
    };
    scanErrors(g, '', r);
    sample.lost = r.lost;
    sample.unknownError = r.unknownError;
    sample.errorFields = r.errorFields;
    samples.push(sample);
  });

  const attached = top.num('attached_gpus');
  return {
    firmware,
    attachedGpus: attached === null ? gpus.length : attached,
    gpus,
    samples,
    fabric: nodeFabric(samples),
    timestamp: top.text('timestamp') ?? '',
  };
}

/**
 * Node-level fabric: taken from the GPUs that report one. Trusted only when every reporting GPU is
 * trusted and they all name the same domain (a node split across cliques is not one domain).
 */
export function nodeFabric(samples: readonly GpuSample[]): FabricInfo | null {
  const reporting = samples.map((s) => s.fabric).filter((f): f is GpuFabric => f !== null && (f.state !== '' || f.clusterUuid !== ''));
  const first = reporting[0];
  if (!first) return null;
  const domain = (f: GpuFabric): string => `${f.clusterUuid}/${f.cliqueId}`;
  const trusted = reporting.every((f) => f.trusted && domain(f) === domain(first));
  // Issue 24: a degraded health sub-field on any GPU marks the node's domain degraded (GPU n: field=value).
  const degraded = samples.flatMap((s) => (s.fabric?.degraded ?? []).map((d) => `GPU ${s.index}: ${d}`));
  return {
    clusterUuid: first.clusterUuid,
    cliqueId: first.cliqueId ?? -1,
    state: first.state,
    status: first.status,
    trusted,
    ...(degraded.length > 0 ? { degradedReason: degraded.slice(0, 4).join('; ') + (degraded.length > 4 ? `; +${degraded.length - 4} more` : '') } : {}),
  };
}

/** "00000000:53:00.0" stays; "0000:0A:00.0" is widened to the 8-digit domain nvidia-smi uses elsewhere. */
export function normaliseBusId(id: string): string {
  const m = /^([0-9a-f]+):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(id.trim());
  if (!m || m[1] === undefined) return id.trim();
  return `${m[1].padStart(8, '0')}:${m[2]}:${m[3]}.${m[4]}`.toUpperCase();
}
