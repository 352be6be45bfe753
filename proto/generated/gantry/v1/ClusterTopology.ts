// Original file: proto/gantry/v1/scheduler.proto

import type { TopologyDomain as _gantry_v1_TopologyDomain, TopologyDomain__Output as _gantry_v1_TopologyDomain__Output } from '../../gantry/v1/TopologyDomain';

export interface ClusterTopology {
  'levels'?: (string)[];
  'domains'?: (_gantry_v1_TopologyDomain)[];
}

export interface ClusterTopology__Output {
  'levels': (string)[];
  'domains': (_gantry_v1_TopologyDomain__Output)[];
}
