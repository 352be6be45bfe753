/**
 * Firmware drift (issue 24): which of a node's firmware facts differ from the majority of the nodes
 * that share a topology domain with it, or of the fleet. Pure: node records in, a value per node out
 * (the CLI's `gantry nodes --firmware` and the scheduler's gantry_node_firmware_drift gauge both use it).
 *
 * A fact is compared only among peers that should agree: driver and CUDA across every node; VBIOS,
 * InfoROM and GSP among nodes with the same GPU model(s); HCA firmware among nodes with the same HCA
 * type(s). An unknown value ('') is neither counted nor flagged. In a group (one domain of one
 * level, or the fleet, and one peer key) of two or more known values, a value drifts when another
 * value is held by more nodes, or when no value is held by more nodes than every other (no majority:
 * every value of the group is flagged; two nodes that disagree are both suspect).
 */
import type { Inventory } from './types.js';

export const FIRMWARE_FIELDS = ['driver', 'cuda', 'vbios', 'inforom', 'gsp', 'hcaFirmware'] as const;
export type FirmwareField = (typeof FIRMWARE_FIELDS)[number];

/** The level name of the whole fleet (a domain every node is in). */
export const FLEET_LEVEL = 'fleet';
/** The level a trusted NVLink fabric fills (the scheduler's topology names it the same). */
const NVLINK = 'nvlink';

/** One node's firmware facts: each field's value ('' unknown; distinct values of a node's GPUs or HCAs joined by ', '). */
export type FirmwareValues = Record<FirmwareField, string>;

export interface NodeFirmwareDrift {
  node: string;
  values: FirmwareValues;
  /** Per field, the levels ('fleet', 'leaf', 'nvlink', ...) whose domain's majority the value differs from; empty: none. */
  drift: Record<FirmwareField, string[]>;
}

export interface FirmwareNodeInput {
  name: string;
  inventory: Pick<Inventory, 'firmware' | 'gpus' | 'hcas' | 'topology'>;
}

function distinct(values: readonly string[]): string {
  return [...new Set(values.map((v) => v.trim()).filter((v) => v !== ''))].sort().join(', ');
}

/** A node's firmware values (each one its GPUs' or HCAs' distinct values). */
export function firmwareValues(inv: FirmwareNodeInput['inventory']): FirmwareValues {
  return {
    driver: inv.firmware.driverVersion.trim(),
    cuda: inv.firmware.cudaVersion.trim(),
    vbios: distinct(inv.gpus.map((g) => g.vbiosVersion)),
    inforom: distinct(inv.gpus.map((g) => g.inforomVersion)),
    gsp: distinct(inv.gpus.map((g) => g.gspFirmwareVersion)),
    hcaFirmware: distinct(inv.hcas.map((h) => h.firmwareVersion)),
  };
}

/** Who a field is compared with: nodes of the same GPU model(s) for GPU firmware, HCA type(s) for HCA firmware. */
function peerKey(field: FirmwareField, inv: FirmwareNodeInput['inventory']): string {
  if (field === 'vbios' || field === 'inforom' || field === 'gsp') return distinct(inv.gpus.map((g) => g.name));
  if (field === 'hcaFirmware') return distinct(inv.hcas.map((h) => h.hcaType));
  return '';
}

/** A node's domains: its topology domains (level -> name), its trusted NVLink domain, and the fleet. */
export function driftDomains(inv: FirmwareNodeInput['inventory']): Record<string, string> {
  const out: Record<string, string> = { [FLEET_LEVEL]: '' };
  for (const [level, name] of Object.entries(inv.topology.domains)) if (name && level !== FLEET_LEVEL) out[level] = name;
  const f = inv.topology.fabric;
  if (f?.trusted && out[NVLINK] === undefined) out[NVLINK] = `${f.clusterUuid}/${f.cliqueId}`;
  return out;
}

/** The values of a group that drift: those not held by the strict majority holder (every value when none). */
function drifting(counts: ReadonlyMap<string, number>): Set<string> {
  let top = 0;
  let winners = 0;
  for (const c of counts.values()) {
    if (c > top) {
      top = c;
      winners = 1;
    } else if (c === top) winners++;
  }
  const out = new Set<string>();
  for (const [v, c] of counts) if (c < top || winners > 1) out.add(v);
  return out;
}

/** Each node's firmware values and where they drift, in the order given. */
export function firmwareDrift(nodes: readonly FirmwareNodeInput[]): NodeFirmwareDrift[] {
  const facts = nodes.map((n) => ({
    name: n.name,
    values: firmwareValues(n.inventory),
    domains: driftDomains(n.inventory),
    peers: Object.fromEntries(FIRMWARE_FIELDS.map((f) => [f, peerKey(f, n.inventory)])) as Record<FirmwareField, string>,
  }));
  const out: NodeFirmwareDrift[] = facts.map((f) => ({
    node: f.name,
    values: f.values,
    drift: Object.fromEntries(FIRMWARE_FIELDS.map((k) => [k, [] as string[]])) as Record<FirmwareField, string[]>,
  }));
  for (const field of FIRMWARE_FIELDS) {
    // group key (level, domain, peer key) -> value -> node count
    const groups = new Map<string, Map<string, number>>();
    const keyOf = (i: number, level: string): string => JSON.stringify([level, facts[i]!.domains[level], facts[i]!.peers[field]]);
    facts.forEach((f, i) => {
      const v = f.values[field];
      if (v === '') return;
      for (const level of Object.keys(f.domains)) {
        const k = keyOf(i, level);
        const g = groups.get(k) ?? new Map<string, number>();
        g.set(v, (g.get(v) ?? 0) + 1);
        groups.set(k, g);
      }
    });
    const drifts = new Map<string, Set<string>>();
    for (const [k, counts] of groups) {
      let total = 0;
      for (const c of counts.values()) total += c;
      if (total >= 2) drifts.set(k, drifting(counts));
    }
    facts.forEach((f, i) => {
      const v = f.values[field];
      if (v === '') return;
      const levels = Object.keys(f.domains).filter((level) => drifts.get(keyOf(i, level))?.has(v) === true);
      out[i]!.drift[field] = levels.sort((a, b) => (a === FLEET_LEVEL ? 1 : b === FLEET_LEVEL ? -1 : a.localeCompare(b)));
    });
  }
  return out;
}

/** Per (field, level): how many nodes drift there (the gauge's samples; every field and seen level, zeros included). */
export function driftCounts(drift: readonly NodeFirmwareDrift[], levels: readonly string[]): Array<{ field: FirmwareField; level: string; nodes: number }> {
  const all = new Set([FLEET_LEVEL, ...levels]);
  for (const d of drift) for (const f of FIRMWARE_FIELDS) for (const l of d.drift[f]) all.add(l);
  const out: Array<{ field: FirmwareField; level: string; nodes: number }> = [];
  for (const field of FIRMWARE_FIELDS) {
    for (const level of [...all].sort()) out.push({ field, level, nodes: drift.filter((d) => d.drift[field].includes(level)).length });
  }
  return out;
}
