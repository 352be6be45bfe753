// Original file: proto/gantry/v1/agent.proto

import type { Inventory as _gantry_v1_Inventory, Inventory__Output as _gantry_v1_Inventory__Output } from '../../gantry/v1/Inventory';
import type { HealthVerdict as _gantry_v1_HealthVerdict, HealthVerdict__Output as _gantry_v1_HealthVerdict__Output } from '../../gantry/v1/HealthVerdict';
import type { Long } from '@grpc/proto-loader';

export interface Report {
  'seq'?: (number | string | Long);
  'sentUnixMs'?: (number | string | Long);
  'inventory'?: (_gantry_v1_Inventory | null);
  'inventoryChanged'?: (boolean);
  'verdicts'?: (_gantry_v1_HealthVerdict)[];
  'verdictsChanged'?: (boolean);
}

export interface Report__Output {
  'seq': (number);
  'sentUnixMs': (number);
  'inventory': (_gantry_v1_Inventory__Output | null);
  'inventoryChanged': (boolean);
  'verdicts': (_gantry_v1_HealthVerdict__Output)[];
  'verdictsChanged': (boolean);
}
