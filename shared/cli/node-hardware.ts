/**
 * What `gantry node show` says of a node's hardware facts (issue 24): which tool answered for its
 * static facts, its MIG instances (profile derived; placement and UUID unknown until read), its GPUs'
 * NVL72 tray identity (platformInfo), and its NVLink fabric with any degraded health.
 */
import type { NodeRecord } from '../domain/index.js';

/** Rows for the node text: [key, value]. */
export function hardwareRows(n: NodeRecord): Array<[string, string]> {
  const inv = n.inventory;
  const rows: Array<[string, string]> = [];
  if (inv.firmware.tool) rows.push(['static facts from', inv.firmware.tool]);
  for (const g of inv.gpus) {
    for (const m of g.migInstances ?? []) {
      rows.push([
        `mig gpu ${g.index}`,
        `instance ${m.index}: ${m.profile || 'profile unknown'}, GI ${m.gpuInstanceId}, CI ${m.computeInstanceId}, ${m.multiprocessorCount} SMs, ` +
          `${m.memoryMiB} MiB; placement ${m.placementStart >= 0 ? m.placementStart : 'unknown'}, UUID ${m.uuid || 'unknown'}`,
      ]);
    }
  }
  const trays = new Map<string, number[]>();
  for (const g of inv.gpus) {
    const p = g.platform;
    if (!p) continue;
    const key = `chassis ${p.chassisSerial}, slot ${num(p.slotNumber)}, tray ${num(p.trayIndex)}, host ${num(p.hostId)}`;
    trays.set(key, [...(trays.get(key) ?? []), g.index]);
  }
  for (const [key, gpus] of trays) rows.push(['tray', `${key} (GPUs ${gpus.join(',')})`]);
  const f = inv.topology.fabric;
  if (f) {
    rows.push([
      'nvlink fabric',
      `${f.clusterUuid}/${f.cliqueId} ${f.state}/${f.status}, ${f.trusted ? 'trusted' : 'not trusted'}` + (f.degradedReason ? `; degraded: ${f.degradedReason}` : ''),
    ]);
  }
  return rows;
}

function num(v: number): string {
  return v >= 0 ? String(v) : 'unknown';
}

/** The JSON form's hardware keys. */
export function hardwareJson(n: NodeRecord): Record<string, unknown> {
  const inv = n.inventory;
  return {
    staticFactsTool: inv.firmware.tool || null,
    migInstances: inv.gpus.flatMap((g) => (g.migInstances ?? []).map((m) => ({ gpu: g.index, ...m, profile: m.profile || null, uuid: m.uuid || null, placementStart: m.placementStart >= 0 ? m.placementStart : null }))),
    platform: inv.gpus.filter((g) => g.platform).map((g) => ({ gpu: g.index, ...g.platform })),
    fabric: inv.topology.fabric,
  };
}
