/**
 * NVL72 tray identity against the NVLink domain, across the fleet (issue 24). GB200/GB300 GPUs
 * report `platformInfo` (the rack's chassis serial, the tray's slot and index); their fabric names
 * the NVLink domain (ClusterUUID + CliqueId). The two must agree: one rack's trays share one
 * ClusterUUID (partitions split a rack by CliqueId, never by cluster), and one NVLink domain lives in
 * one rack. A disagreement, within a node (its GPUs name two chassis) or across nodes, gives each
 * node involved a warning verdict (record only) with what disagrees. Only the scheduler sees every
 * node, so the check is here. Caveat: a multi-rack NVLink domain (NVL36x2) spans two chassis by
 * design and reads as a disagreement; the verdict's action is none.
 *
 * Pure: records in, node -> evidence out.
 */
import type { HealthVerdict, NodeRecord } from '../../shared/domain/index.js';

export const TRAY_DOMAIN_CHECK = 'nvlink-tray-domain';

const ZERO_UUID = /^[0-]*$/;

type Input = Pick<NodeRecord, 'name' | 'inventory'>;

interface Facts {
  name: string;
  chassis: string[];
  /** clusterUuid ('' none) and the domain `clusterUuid/cliqueId`. */
  cluster: string;
  domain: string;
}

function factsOf(n: Input): Facts {
  const chassis = [...new Set(n.inventory.gpus.map((g) => g.platform?.chassisSerial ?? '').filter((c) => c !== ''))].sort();
  const f = n.inventory.topology.fabric;
  const cluster = f && !ZERO_UUID.test(f.clusterUuid) ? f.clusterUuid : '';
  return { name: n.name, chassis, cluster, domain: cluster ? `${cluster}/${f!.cliqueId}` : '' };
}

function add(m: Map<string, Map<string, string[]>>, key: string, value: string, node: string): void {
  const inner = m.get(key) ?? new Map<string, string[]>();
  inner.set(value, [...(inner.get(value) ?? []), node]);
  m.set(key, inner);
}

function listed(inner: Map<string, string[]>): string {
  return [...inner].sort(([a], [b]) => a.localeCompare(b)).map(([v, nodes]) => `${v} (${nodes.sort().join(', ')})`).join(' vs ');
}

/** Node -> why its tray identity and NVLink domain disagree; nodes that agree (or report neither) are absent. */
export function trayDomainConflicts(nodes: readonly Input[]): Map<string, string> {
  const out = new Map<string, string[]>();
  const note = (node: string, why: string): void => {
    const l = out.get(node) ?? [];
    if (!l.includes(why)) l.push(why);
    out.set(node, l);
  };
  const byChassis = new Map<string, Map<string, string[]>>();
  const byDomain = new Map<string, Map<string, string[]>>();
  for (const n of nodes.map(factsOf)) {
    if (n.chassis.length > 1) note(n.name, `its GPUs name chassis ${n.chassis.join(' and ')}`);
    if (n.cluster === '') continue;
    for (const c of n.chassis) {
      add(byChassis, c, n.cluster, n.name);
      add(byDomain, n.domain, c, n.name);
    }
  }
  for (const [chassis, clusters] of byChassis) {
    if (clusters.size < 2) continue;
    const why = `chassis ${chassis} is in NVLink clusters ${listed(clusters)}`;
    for (const ns of clusters.values()) for (const n of ns) note(n, why);
  }
  for (const [domain, chassis] of byDomain) {
    if (chassis.size < 2) continue;
    const why = `NVLink domain ${domain} spans chassis ${listed(chassis)}`;
    for (const ns of chassis.values()) for (const n of ns) note(n, why);
  }
  return new Map([...out].map(([n, l]) => [n, l.join('; ')]));
}

/**
 * A node's verdicts with this check's replaced by `evidence`'s (none when ''): the warning keeps its
 * first-seen time while its evidence stands.
 */
export function withTrayVerdict(verdicts: readonly HealthVerdict[], evidence: string, nowMs: number): HealthVerdict[] {
  const prev = verdicts.find((v) => v.check === TRAY_DOMAIN_CHECK);
  const rest = verdicts.filter((v) => v.check !== TRAY_DOMAIN_CHECK);
  if (evidence === '') return rest;
  return [...rest, { check: TRAY_DOMAIN_CHECK, severity: 'warn', evidence, firstSeenMs: prev?.evidence === evidence ? prev.firstSeenMs : nowMs, action: 'none' }];
}
