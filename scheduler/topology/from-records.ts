/**
 * The scheduler's node records to tree input and per-cycle node state. Where a node
 * sits is taken in the design's order of trust: trusted NVLink fabric info for the
 * `nvlink` level, then the domains the agent reports (topology file or labels).
 */
import { INVENTORY_LIMITS, type NodeRecord, type Vendor } from '../../shared/domain/index.js';
import { NODE_NAME_LABEL } from '../../shared/jobspec/index.js';
import type { TopologyNodeInput } from './tree.js';
import type { NodeState } from './snapshot.js';

/** The level name that trusted NVLink fabric info fills. */
export const NVLINK_LEVEL = 'nvlink';

/**
 * The NVLink domains (`clusterUuid/cliqueId`) that some node's fabric health says are degraded
 * (issue 24: route unhealthy, recovery in progress, incorrect configuration...): no node of such a
 * domain is placed as if NVLink-connected to the others until every node reports it healthy again.
 */
export function degradedNvlinkDomains(records: readonly NodeRecord[]): Set<string> {
  const out = new Set<string>();
  for (const r of records) {
    const f = r.inventory?.topology?.fabric;
    if (f?.degradedReason && f.clusterUuid) out.add(`${f.clusterUuid}/${f.cliqueId}`);
  }
  return out;
}

/** `untrustedNvlink`: degraded NVLink domains (degradedNvlinkDomains); a node in one gets no nvlink level and no nvlink link groups. */
export function nodeInputFromRecord(record: NodeRecord, levels: readonly string[], untrustedNvlink: ReadonlySet<string> = new Set()): TopologyNodeInput {
  const inv = record.inventory;
  const gpus = inv.gpus;
  const first = gpus[0];
  const domains: Record<string, string> = {};
  for (const level of levels) {
    const d = inv.topology.domains[level];
    if (d) domains[level] = d;
  }
  const fabric = inv.topology.fabric;
  const nvlinkDomain = fabric ? `${fabric.clusterUuid}/${fabric.cliqueId}` : '';
  const degraded = fabric !== null && (Boolean(fabric.degradedReason) || untrustedNvlink.has(nvlinkDomain));
  if (levels.includes(NVLINK_LEVEL) && fabric?.trusted && !degraded) domains[NVLINK_LEVEL] = nvlinkDomain;
  const vendor: Vendor = first?.vendor ?? 'unknown';
  // The built-in gantry.io/node label is the node's name (the placement filter reads the name); an agent cannot set it.
  const labels = { ...record.labels };
  delete labels[NODE_NAME_LABEL];
  const memMiB = gpus.reduce((m, g) => (m === 0 ? g.memoryMiB : Math.min(m, g.memoryMiB)), 0);
  return {
    name: record.name,
    gpus: gpus.length,
    domains,
    vendor,
    model: first?.name ?? '',
    memoryGiB: memMiB / 1024,
    driver: inv.firmware.driverVersion,
    cuda: inv.firmware.cudaVersion,
    labels,
    allowedUsers: record.allowedUsers ?? [],
    allowRoot: record.allowRoot ?? false,
    // The degraded fabric carries the node's own GPU-to-GPU NVLink traffic too (an NVL72 tray's GPUs
    // reach each other through the NVSwitch trays): its nvlink groups are not trusted either.
    linkGroups: inv.topology.linkGroups
      .filter((g) => !(degraded && g.kind === 'nvlink'))
      .map((g) => ({ kind: g.kind, gpus: g.gpus.filter((x) => x >= 0 && x < gpus.length) })),
  };
}

/**
 * Why a stored record cannot be placed on, beyond what the tree builder checks (null: it can): its
 * GPUs' indexes and memory out of the bounds the wire now enforces (a record stored before them).
 */
export function recordProblem(record: NodeRecord): string | null {
  const gpus = record.inventory?.gpus;
  if (!Array.isArray(gpus)) return 'inventory.gpus: missing';
  if (gpus.length > INVENTORY_LIMITS.maxGpus) return `inventory.gpus: ${gpus.length} GPUs; at most ${INVENTORY_LIMITS.maxGpus}`;
  const seen = new Set<number>();
  for (let i = 0; i < gpus.length; i++) {
    const g = gpus[i]!;
    if (!Number.isInteger(g.index) || g.index < 0 || g.index > INVENTORY_LIMITS.maxGpuIndex || seen.has(g.index)) {
      return `inventory.gpus[${i}].index: ${String(g.index)} is not a unique integer from 0 to ${INVENTORY_LIMITS.maxGpuIndex}`;
    }
    seen.add(g.index);
    if (!Number.isSafeInteger(g.memoryMiB) || g.memoryMiB < 0 || g.memoryMiB > INVENTORY_LIMITS.maxGpuMemoryMiB) {
      return `inventory.gpus[${i}].memoryMiB: ${String(g.memoryMiB)} is not an integer from 0 to ${INVENTORY_LIMITS.maxGpuMemoryMiB}`;
    }
  }
  return null;
}

/** Node state for a snapshot: `usedGpus` comes from the scheduler's allocations. */
export function nodeStateFromRecord(record: NodeRecord, usedGpus: readonly number[] = []): NodeState {
  const unhealthy = new Set<number>();
  for (const v of record.verdicts) if (v.severity === 'fail' && v.gpu !== undefined) unhealthy.add(v.gpu);
  let unusable: NodeState['unusable'] = null;
  if (record.connectivity === 'lost') unusable = 'lost';
  else if (record.awaitingApproval) unusable = 'awaiting approval';
  else if (record.schedulability === 'cordoned') unusable = 'cordoned';
  else if (record.schedulability === 'draining') unusable = 'draining';
  else if (record.health === 'fail') unusable = 'health fail';
  return { usedGpus, unhealthyGpus: [...unhealthy].sort((a, b) => a - b), unusable };
}
