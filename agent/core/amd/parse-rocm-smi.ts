/**
 * Pure parser of `rocm-smi ... --json` (ROCm 4.3 to 6.x; keys drift between releases, e.g.
 * "Card series" -> "Card Series", "Device Name"). No I/O.
 */
import { ParseError } from '../../../shared/errors/index.js';
import type { FirmwareInfo, GpuInfo, LinkMatrix } from '../../../shared/domain/index.js';
import type { GpuSample } from '../types.js';

export interface RocmSmiReport {
  firmware: FirmwareInfo;
  gpus: GpuInfo[];
  samples: GpuSample[];
  /** From "(Topology) Link type between DRM devices i and j" (XGMI / PCIE); empty when not reported. */
  linkMatrix: LinkMatrix;
}

const SOURCE = 'rocm-smi --json';
type Card = Record<string, unknown>;

function str(card: Card, ...keys: string[]): string {
  for (const k of keys) {
    const v = card[k];
    if (typeof v === 'string' || typeof v === 'number') {
      const t = String(v).trim();
      if (t !== '' && !/^n\/a/i.test(t)) return t;
    }
  }
  return '';
}

function num(card: Card, ...keys: string[]): number | null {
  const s = str(card, ...keys);
  if (s === '') return null;
  const m = /^[-+]?\d+(?:\.\d+)?/.exec(s);
  return m ? Number(m[0]) : null;
}

function emptySample(index: number, uuid: string, pciBusId: string): GpuSample {
  return {
    index,
    uuid,
    pciBusId,
    temperatureCelsius: null,
    memoryTemperatureCelsius: null,
    powerWatts: null,
    powerLimitWatts: null,
    utilizationRatio: null,
    memoryUtilizationRatio: null,
    memoryUsedBytes: null,
    memoryTotalBytes: null,
    performanceState: '',
    eccEnabled: null,
    ecc: { volatileCorrectable: null, volatileUncorrectable: null, aggregateCorrectable: null, aggregateUncorrectable: null },
    retiredPages: { singleBitCount: null, doubleBitCount: null, pending: null },
    remappedRows: null,
    clockEventReasons: {
      gpuIdle: null,
      applicationsClocksSetting: null,
      swPowerCap: null,
      hwSlowdown: null,
      hwThermalSlowdown: null,
      hwPowerBrakeSlowdown: null,
      syncBoost: null,
      swThermalSlowdown: null,
      displayClocksSetting: null,
    },
    clockEventCounters: { swPowerCapUs: null, syncBoostUs: null, swThermalSlowdownUs: null, hwThermalSlowdownUs: null, hwPowerBrakeUs: null },
    pcie: { currentGen: null, maxGen: null, currentWidth: null, maxWidth: null, replayCounter: null },
    fabric: null,
    lost: false,
    unknownError: false,
    errorFields: [],
    processCount: 0,
    virtualizationMode: '',
  };
}

export function parseRocmSmiJson(text: string): RocmSmiReport {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ParseError(SOURCE, (err as Error).message, { cause: err });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ParseError(SOURCE, 'not a JSON object');
  const root = doc as Record<string, unknown>;
  const cards = Object.keys(root)
    .map((k) => ({ k, m: /^card(\d+)$/.exec(k) }))
    .filter((x) => x.m !== null)
    .map((x) => ({ index: Number(x.m?.[1]), card: root[x.k] as Card }))
    .filter((x) => x.card !== null && typeof x.card === 'object')
    .sort((a, b) => a.index - b.index);
  const system = (root['system'] ?? {}) as Card;

  const gpus: GpuInfo[] = [];
  const samples: GpuSample[] = [];
  for (const { index, card } of cards) {
    const uuid = str(card, 'Unique ID', 'GUID');
    const pciBusId = str(card, 'PCI Bus').toUpperCase();
    const vram = num(card, 'VRAM Total Memory (B)');
    const numa = num(card, '(Topology) Numa Node');
    gpus.push({
      index,
      uuid,
      name: str(card, 'Card Series', 'Card series', 'Device Name', 'Card Model', 'Card model'),
      vendor: 'amd',
      memoryMiB: vram === null ? 0 : Math.round(vram / 1024 ** 2),
      pciBusId,
      serial: str(card, 'Serial Number'),
      vbiosVersion: str(card, 'VBIOS version'),
      inforomVersion: '',
      gspFirmwareVersion: '',
      numaNode: numa === null ? -1 : numa,
      nvlinkDomain: '',
      linkRow: [],
      migEnabled: false,
      minorNumber: null,
    });
    const s = emptySample(index, uuid, pciBusId);
    s.temperatureCelsius = num(card, 'Temperature (Sensor edge) (C)', 'Temperature (Sensor junction) (C)');
    s.memoryTemperatureCelsius = num(card, 'Temperature (Sensor memory) (C)');
    s.powerWatts = num(card, 'Current Socket Graphics Package Power (W)', 'Average Graphics Package Power (W)');
    s.powerLimitWatts = num(card, 'Max Graphics Package Power (W)');
    const use = num(card, 'GPU use (%)');
    s.utilizationRatio = use === null ? null : use / 100;
    s.memoryUsedBytes = num(card, 'VRAM Total Used Memory (B)');
    s.memoryTotalBytes = vram;
    s.pcie.replayCounter = num(card, 'PCIe Replay Count');
    const pcie = /\(([\d.]+)GT\/s x(\d+)\)/.exec(str(card, 'pcie clock level'));
    if (pcie) {
      const gtps: Record<string, number> = { '2.5': 1, '5.0': 2, '8.0': 3, '16.0': 4, '32.0': 5, '64.0': 6 };
      s.pcie.currentGen = gtps[pcie[1] ?? ''] ?? null;
      s.pcie.currentWidth = Number(pcie[2]);
    }
    samples.push(s);
  }

  // Link matrix from the pairwise link types, when present.
  const n = gpus.length;
  const devices = gpus.map((g) => `GPU${g.index}`);
  const rows: string[][] = devices.map((_, i) => devices.map((__, j) => (i === j ? 'X' : '')));
  let anyLink = false;
  for (const [k, v] of Object.entries(system)) {
    const m = /^\(Topology\) Link type between DRM devices (\d+) and (\d+)$/.exec(k);
    if (!m || typeof v !== 'string') continue;
    const a = gpus.findIndex((g) => g.index === Number(m[1]));
    const b = gpus.findIndex((g) => g.index === Number(m[2]));
    if (a < 0 || b < 0) continue;
    const t = v.trim().toUpperCase();
    const ra = rows[a];
    const rb = rows[b];
    if (ra) ra[b] = t;
    if (rb) rb[a] = t;
    anyLink = true;
  }
  const linkMatrix: LinkMatrix = anyLink && n > 0 ? { devices, rows } : { devices: [], rows: [] };
  if (anyLink) gpus.forEach((g, i) => (g.linkRow = [...(rows[i] ?? [])]));

  return {
    firmware: { driverVersion: str(system, 'Driver version'), cudaVersion: '' },
    gpus,
    samples,
    linkMatrix,
  };
}
