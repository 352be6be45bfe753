/**
 * An agent's inventory from the wire, validated at the boundary: every count, index, size and
 * string an agent sends is bounded, so one bad (or hostile) agent cannot store a record that the
 * scheduler's topology or placement cannot use. Errors are InvalidArgumentError naming the field.
 */
import { INVENTORY_LIMITS, type GpuInfo, type Inventory, type Vendor } from '../domain/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { PbInventoryOut } from '../proto/index.js';

type PbGpuOut = PbInventoryOut['gpus'][number];

const L = INVENTORY_LIMITS;
const VENDORS: ReadonlySet<string> = new Set(['nvidia', 'amd', 'unknown']);
const LINK_KINDS: ReadonlySet<string> = new Set(['nvlink', 'pcie-switch', 'numa']);

interface Checks {
  str(v: string, field: string): string;
  int(v: number, field: string, min: number, max: number): number;
  list<T>(v: readonly T[], field: string, max: number): readonly T[];
}

/** The bounds, enforced (what a peer sends the scheduler)... */
const STRICT: Checks = {
  str(v, field) {
    if (typeof v !== 'string') throw new InvalidArgumentError(field, 'must be a string');
    if (v.length > L.maxStringLength) throw new InvalidArgumentError(field, `is ${v.length} characters; at most ${L.maxStringLength}`);
    return v;
  },
  int(v, field, min, max) {
    if (!Number.isSafeInteger(v) || v < min || v > max) throw new InvalidArgumentError(field, `must be an integer from ${min} to ${max}; got ${String(v)}`);
    return v;
  },
  list(v, field, max) {
    if (v.length > max) throw new InvalidArgumentError(field, `lists ${v.length} entries; at most ${max}`);
    return v;
  },
};

/** ...or not (what the scheduler shows a client: a stored record as it is, even one from before the bounds). */
const AS_IS: Checks = { str: (v) => v, int: (v) => v, list: (v) => v };

/** A string map (labels, domains, NICs): at most `max` entries, keys and values bounded. */
export function stringMapFromPb(m: Record<string, string> | null | undefined, field: string, max: number, c: Checks = STRICT): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = Object.entries(m ?? {});
  if (c === STRICT && entries.length > max) throw new InvalidArgumentError(field, `has ${entries.length} entries; at most ${max}`);
  for (const [k, v] of entries) {
    c.str(k, `${field} key`);
    out[k] = c.str(v, `${field}.${k.slice(0, 64)}`);
  }
  return out;
}

/** A node's labels as an agent registers them. */
export function labelsFromPb(m: Record<string, string> | null | undefined, field: string): Record<string, string> {
  return stringMapFromPb(m, field, L.maxLabels);
}

/** A GPU's MIG instances and platformInfo (issue 24), present only where the agent sent them. */
function gpuExtrasFromPb(g: PbGpuOut, f: string, c: Checks): Pick<GpuInfo, 'migInstances' | 'platform'> {
  const out: Pick<GpuInfo, 'migInstances' | 'platform'> = {};
  const migs = c.list(g.migInstances ?? [], `${f}.migInstances`, L.maxMigInstances);
  if (migs.length > 0) {
    out.migInstances = migs.map((m, i) => {
      const mf = `${f}.migInstances[${i}]`;
      return {
        index: c.int(m.index, `${mf}.index`, 0, L.maxMigInstances - 1),
        gpuInstanceId: c.int(m.gpuInstanceId, `${mf}.gpuInstanceId`, 0, L.maxSmallCount),
        computeInstanceId: c.int(m.computeInstanceId, `${mf}.computeInstanceId`, 0, L.maxSmallCount),
        multiprocessorCount: c.int(m.multiprocessorCount, `${mf}.multiprocessorCount`, 0, L.maxSmallCount),
        memoryMiB: c.int(Number(m.memoryMib), `${mf}.memoryMib`, 0, L.maxGpuMemoryMiB),
        profile: c.str(m.profile, `${mf}.profile`),
        uuid: c.str(m.uuid, `${mf}.uuid`),
        placementStart: c.int(m.placementStart, `${mf}.placementStart`, -1, L.maxSmallCount),
      };
    });
  }
  const p = g.platform;
  if (p) {
    const pf = `${f}.platform`;
    out.platform = {
      chassisSerial: c.str(p.chassisSerial, `${pf}.chassisSerial`),
      slotNumber: c.int(p.slotNumber, `${pf}.slotNumber`, -1, L.maxSmallCount),
      trayIndex: c.int(p.trayIndex, `${pf}.trayIndex`, -1, L.maxSmallCount),
      hostId: c.int(p.hostId, `${pf}.hostId`, -1, L.maxSmallCount),
      moduleId: c.int(p.moduleId, `${pf}.moduleId`, -1, L.maxSmallCount),
      peerType: c.str(p.peerType, `${pf}.peerType`),
    };
  }
  return out;
}

/**
 * `bounded`: false where a client reads what the scheduler stored (gantry nodes must show a record
 * from before these bounds, not fail on it); the structure is still checked.
 */
export function inventoryFromPb(pb: PbInventoryOut | null | undefined, field: string, bounded = true): Inventory {
  const { str, int, list } = bounded ? STRICT : AS_IS;
  const c = bounded ? STRICT : AS_IS;
  if (!pb) throw new InvalidArgumentError(field, 'is required');
  const h = pb.host;
  if (!h) throw new InvalidArgumentError(`${field}.host`, 'is required');
  const hf = `${field}.host`;
  const host = {
    hostname: str(h.hostname, `${hf}.hostname`),
    cpuModel: str(h.cpuModel, `${hf}.cpuModel`),
    cpuCores: int(h.cpuCores, `${hf}.cpuCores`, 0, L.maxCpuCores),
    memoryBytes: int(h.memoryBytes, `${hf}.memoryBytes`, 0, L.maxHostMemoryBytes),
    numaNodes: int(h.numaNodes, `${hf}.numaNodes`, 0, L.maxNumaNodes),
    os: str(h.os, `${hf}.os`),
    kernel: str(h.kernel, `${hf}.kernel`),
    arch: str(h.arch, `${hf}.arch`),
    biosVendor: str(h.biosVendor, `${hf}.biosVendor`),
    biosVersion: str(h.biosVersion, `${hf}.biosVersion`),
    biosDate: str(h.biosDate, `${hf}.biosDate`),
    baseboard: str(h.baseboard, `${hf}.baseboard`),
    systemSerial: str(h.systemSerial, `${hf}.systemSerial`),
  };
  const firmware: Inventory['firmware'] = pb.firmware
    ? { driverVersion: str(pb.firmware.driverVersion, `${field}.firmware.driverVersion`), cudaVersion: str(pb.firmware.cudaVersion, `${field}.firmware.cudaVersion`) }
    : { driverVersion: '', cudaVersion: '' };
  if (pb.firmware?.tool) firmware.tool = str(pb.firmware.tool, `${field}.firmware.tool`);
  const seen = new Set<number>();
  const gpus: GpuInfo[] = list(pb.gpus, `${field}.gpus`, L.maxGpus).map((g, i) => {
    const f = `${field}.gpus[${i}]`;
    int(g.index, `${f}.index`, 0, L.maxGpuIndex);
    if (seen.has(g.index)) throw new InvalidArgumentError(`${f}.index`, `duplicate GPU index ${g.index}`);
    seen.add(g.index);
    if (!VENDORS.has(g.vendor)) throw new InvalidArgumentError(`${f}.vendor`, `unknown vendor ${JSON.stringify(str(g.vendor, `${f}.vendor`).slice(0, 40))}`);
    return {
      index: g.index,
      uuid: str(g.uuid, `${f}.uuid`),
      name: str(g.name, `${f}.name`),
      vendor: g.vendor as Vendor,
      memoryMiB: int(g.memoryMib, `${f}.memoryMib`, 0, L.maxGpuMemoryMiB),
      pciBusId: str(g.pciBusId, `${f}.pciBusId`),
      serial: str(g.serial, `${f}.serial`),
      vbiosVersion: str(g.vbiosVersion, `${f}.vbiosVersion`),
      inforomVersion: str(g.inforomVersion, `${f}.inforomVersion`),
      gspFirmwareVersion: str(g.gspFirmwareVersion, `${f}.gspFirmwareVersion`),
      numaNode: int(g.numaNode, `${f}.numaNode`, -1, L.maxNumaNodes - 1),
      nvlinkDomain: str(g.nvlinkDomain, `${f}.nvlinkDomain`),
      linkRow: list(g.linkRow, `${f}.linkRow`, L.maxLinkDevices).map((c, ci) => str(c, `${f}.linkRow[${ci}]`)),
      migEnabled: g.migEnabled === true,
      ...gpuExtrasFromPb(g, f, c),
    };
  });
  const hcas = list(pb.hcas, `${field}.hcas`, L.maxHcas).map((hca, i) => {
    const f = `${field}.hcas[${i}]`;
    return {
      name: str(hca.name, `${f}.name`),
      hcaType: str(hca.hcaType, `${f}.hcaType`),
      firmwareVersion: str(hca.firmwareVersion, `${f}.firmwareVersion`),
      boardId: str(hca.boardId, `${f}.boardId`),
      ports: list(hca.ports, `${f}.ports`, L.maxHcaPorts).map((p, pi) => {
        const pf = `${f}.ports[${pi}]`;
        if (!Number.isFinite(p.rateGbps) || p.rateGbps < 0 || p.rateGbps > L.maxHcaRateGbps) {
          throw new InvalidArgumentError(`${pf}.rateGbps`, `must be a number from 0 to ${L.maxHcaRateGbps}; got ${String(p.rateGbps)}`);
        }
        return {
          port: int(p.port, `${pf}.port`, 0, 65535),
          state: str(p.state, `${pf}.state`),
          physState: str(p.physState, `${pf}.physState`),
          rateGbps: p.rateGbps,
          linkLayer: str(p.linkLayer, `${pf}.linkLayer`),
        };
      }),
    };
  });
  const topo = pb.topology;
  const tf = `${field}.topology`;
  const devices = list(topo?.linkMatrix?.devices ?? [], `${tf}.linkMatrix.devices`, L.maxLinkDevices).map((d, i) => str(d, `${tf}.linkMatrix.devices[${i}]`));
  const rows = list(topo?.linkMatrix?.rows ?? [], `${tf}.linkMatrix.rows`, L.maxLinkDevices).map((r, i) =>
    list(r.cells, `${tf}.linkMatrix.rows[${i}]`, L.maxLinkDevices).map((c, ci) => str(c, `${tf}.linkMatrix.rows[${i}][${ci}]`)),
  );
  const linkGroups = list(topo?.linkGroups ?? [], `${tf}.linkGroups`, L.maxLinkGroups).map((g, i) => {
    const f = `${tf}.linkGroups[${i}]`;
    if (!LINK_KINDS.has(g.kind)) throw new InvalidArgumentError(`${f}.kind`, `unknown kind ${JSON.stringify(str(g.kind, `${f}.kind`).slice(0, 40))}`);
    const members = list(g.gpus, `${f}.gpus`, L.maxGpus).map((x, xi) => int(x, `${f}.gpus[${xi}]`, 0, L.maxGpuIndex));
    return { kind: g.kind as 'nvlink' | 'pcie-switch' | 'numa', gpus: members };
  });
  const fb = topo?.fabric;
  const fabric = fb
    ? {
        clusterUuid: str(fb.clusterUuid, `${tf}.fabric.clusterUuid`),
        cliqueId: int(fb.cliqueId, `${tf}.fabric.cliqueId`, 0, 2 ** 32 - 1),
        state: str(fb.state, `${tf}.fabric.state`),
        status: str(fb.status, `${tf}.fabric.status`),
        trusted: fb.trusted === true,
        ...(fb.degradedReason ? { degradedReason: str(fb.degradedReason, `${tf}.fabric.degradedReason`) } : {}),
      }
    : null;
  return {
    host,
    firmware,
    gpus,
    hcas,
    topology: {
      linkMatrix: { devices, rows },
      linkGroups,
      fabric,
      domains: stringMapFromPb(topo?.domains, `${tf}.domains`, L.maxDomains, c),
      nics: stringMapFromPb(topo?.nics, `${tf}.nics`, L.maxNics, c),
    },
  };
}
