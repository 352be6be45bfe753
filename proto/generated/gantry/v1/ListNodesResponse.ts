// Original file: proto/gantry/v1/scheduler.proto

import type { Node as _gantry_v1_Node, Node__Output as _gantry_v1_Node__Output } from '../../gantry/v1/Node';

export interface ListNodesResponse {
  'nodes'?: (_gantry_v1_Node)[];
}

export interface ListNodesResponse__Output {
  'nodes': (_gantry_v1_Node__Output)[];
}
