// Original file: proto/gantry/v1/agent.proto

import type { LatencyPeer as _gantry_v1_LatencyPeer, LatencyPeer__Output as _gantry_v1_LatencyPeer__Output } from '../../gantry/v1/LatencyPeer';

export interface LatencyPeers {
  'peers'?: (_gantry_v1_LatencyPeer)[];
}

export interface LatencyPeers__Output {
  'peers': (_gantry_v1_LatencyPeer__Output)[];
}
