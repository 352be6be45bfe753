/** The cluster's topology tree as `gantry topology` reads it (GetTopology), off the generated types. */
import type { ClusterTopology__Output } from '../proto/index.js';

export interface TopologyDomainView {
  level: string;
  name: string;
  /** The enclosing domain's name; empty for the root. */
  parent: string;
  nodes: number;
  gpusTotal: number;
  gpusUsed: number;
  gpusFree: number;
  gpusUnavailable: number;
  /** East-west tail latency stands out from its siblings' (placement avoids it). */
  degraded: boolean;
}

export interface ClusterTopologyView {
  /** Finest first: node, the configured levels, cluster. */
  levels: string[];
  /** Depth first from the root, each domain before its children. */
  domains: TopologyDomainView[];
}

export function topologyFromPb(pb: ClusterTopology__Output): ClusterTopologyView {
  return {
    levels: [...pb.levels],
    domains: pb.domains.map((d) => ({
      level: d.level,
      name: d.name,
      parent: d.parent,
      nodes: d.nodes,
      gpusTotal: d.gpusTotal,
      gpusUsed: d.gpusUsed,
      gpusFree: d.gpusFree,
      gpusUnavailable: d.gpusUnavailable,
      degraded: d.degraded,
    })),
  };
}
