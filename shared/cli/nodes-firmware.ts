/**
 * `gantry nodes --firmware`: each node's driver, CUDA, VBIOS, InfoROM, GSP and HCA firmware, with
 * the values that differ from the majority of their topology domain or of the fleet marked `*` and
 * the levels named in the DRIFT column (shared/domain/firmware-drift.ts decides).
 */
import { FIRMWARE_FIELDS, firmwareDrift, type FirmwareField, type NodeRecord, type NodeFirmwareDrift } from '../domain/index.js';
import { printable } from './printable.js';

const HEADERS: Record<FirmwareField, string> = {
  driver: 'DRIVER',
  cuda: 'CUDA',
  vbios: 'VBIOS',
  inforom: 'INFOROM',
  gsp: 'GSP',
  hcaFirmware: 'HCA FW',
};

/** Marks a value that drifts. */
export const DRIFT_MARK = '*';

function cell(d: NodeFirmwareDrift, f: FirmwareField): string {
  const v = d.values[f];
  if (v === '') return 'unknown';
  return d.drift[f].length > 0 ? `${v}${DRIFT_MARK}` : v;
}

/** `vbios@fleet,leaf; driver@leaf`: the drifting fields and where. '-' for none. */
export function driftText(d: NodeFirmwareDrift): string {
  const parts = FIRMWARE_FIELDS.filter((f) => d.drift[f].length > 0).map((f) => `${f}@${d.drift[f].join(',')}`);
  return parts.join('; ') || '-';
}

export function firmwareTable(nodes: readonly NodeRecord[]): string {
  const drift = firmwareDrift(nodes);
  const header = ['NAME', ...FIRMWARE_FIELDS.map((f) => HEADERS[f]), 'DRIFT'];
  const rows = drift.map((d) => [d.node, ...FIRMWARE_FIELDS.map((f) => cell(d, f)), driftText(d)].map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const legend =
    `${DRIFT_MARK} differs from the majority of its domain or of the fleet (DRIFT: field@levels; GPU firmware is compared among nodes ` +
    'of the same GPU model, HCA firmware among the same HCA type). unknown: not reported (HCA FW: no InfiniBand HCA read from sysfs).';
  return [line(header), ...rows.map(line), '', legend].join('\n') + '\n';
}

/** The JSON form: per node, each field's value (null when unknown) and the levels it drifts at. */
export function firmwareJson(nodes: readonly NodeRecord[]): Array<Record<string, unknown>> {
  return firmwareDrift(nodes).map((d) => ({
    name: d.node,
    ...Object.fromEntries(FIRMWARE_FIELDS.map((f) => [f, { value: d.values[f] || null, drift: d.drift[f] }])),
  }));
}
