// Original file: proto/gantry/v1/agent.proto

import type { Inventory as _gantry_v1_Inventory, Inventory__Output as _gantry_v1_Inventory__Output } from '../../gantry/v1/Inventory';
import type { HealthVerdict as _gantry_v1_HealthVerdict, HealthVerdict__Output as _gantry_v1_HealthVerdict__Output } from '../../gantry/v1/HealthVerdict';
import type { TaskStatus as _gantry_v1_TaskStatus, TaskStatus__Output as _gantry_v1_TaskStatus__Output } from '../../gantry/v1/TaskStatus';
import type { LatencyEndpoint as _gantry_v1_LatencyEndpoint, LatencyEndpoint__Output as _gantry_v1_LatencyEndpoint__Output } from '../../gantry/v1/LatencyEndpoint';

export interface Register {
  'nodeName'?: (string);
  'agentVersion'?: (string);
  'address'?: (string);
  'inventory'?: (_gantry_v1_Inventory | null);
  'labels'?: ({[key: string]: string});
  'verdicts'?: (_gantry_v1_HealthVerdict)[];
  'tasks'?: (_gantry_v1_TaskStatus)[];
  'latency'?: (_gantry_v1_LatencyEndpoint | null);
  'allowedUsers'?: (string)[];
  'allowRoot'?: (boolean);
}

export interface Register__Output {
  'nodeName': (string);
  'agentVersion': (string);
  'address': (string);
  'inventory': (_gantry_v1_Inventory__Output | null);
  'labels': ({[key: string]: string});
  'verdicts': (_gantry_v1_HealthVerdict__Output)[];
  'tasks': (_gantry_v1_TaskStatus__Output)[];
  'latency': (_gantry_v1_LatencyEndpoint__Output | null);
  'allowedUsers': (string)[];
  'allowRoot': (boolean);
}
