/**
 * Gauges of the fleet's hardware facts (issue 24), computed from the node records at each scrape:
 * gantry_scheduler_node_firmware_drift{field,domain_level}, how many nodes hold a firmware value that
 * differs from the majority of their domain at that level (`fleet`: of the whole fleet); see
 * shared/domain/firmware-drift.ts for who is compared with whom.
 */
import { Gauge, type Registry } from 'prom-client';
import { driftCounts, firmwareDrift } from '../shared/domain/index.js';
import type { ClusterModel } from './cluster/index.js';

export function registerHardwareMetrics(registry: Registry, cluster: Pick<ClusterModel, 'list'>): void {
  new Gauge({
    name: 'gantry_scheduler_node_firmware_drift',
    help:
      'Nodes whose firmware value (field: driver, cuda, vbios, inforom, gsp, hcaFirmware) differs from the majority of their topology ' +
      'domain at domain_level (fleet: the whole fleet); GPU firmware is compared among nodes of the same GPU model.',
    labelNames: ['field', 'domain_level'],
    registers: [registry],
    collect() {
      this.reset();
      const nodes = cluster.list();
      const levels = new Set<string>();
      for (const n of nodes) for (const l of Object.keys(n.inventory.topology.domains)) levels.add(l);
      for (const c of driftCounts(firmwareDrift(nodes), [...levels])) this.set({ field: c.field, domain_level: c.level }, c.nodes);
    },
  });
}
