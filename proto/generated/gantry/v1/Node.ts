// Original file: proto/gantry/v1/scheduler.proto

import type { Connectivity as _gantry_v1_Connectivity, Connectivity__Output as _gantry_v1_Connectivity__Output } from '../../gantry/v1/Connectivity';
import type { Schedulability as _gantry_v1_Schedulability, Schedulability__Output as _gantry_v1_Schedulability__Output } from '../../gantry/v1/Schedulability';
import type { Severity as _gantry_v1_Severity, Severity__Output as _gantry_v1_Severity__Output } from '../../gantry/v1/Severity';
import type { HealthVerdict as _gantry_v1_HealthVerdict, HealthVerdict__Output as _gantry_v1_HealthVerdict__Output } from '../../gantry/v1/HealthVerdict';
import type { Inventory as _gantry_v1_Inventory, Inventory__Output as _gantry_v1_Inventory__Output } from '../../gantry/v1/Inventory';
import type { NodeDiagnostic as _gantry_v1_NodeDiagnostic, NodeDiagnostic__Output as _gantry_v1_NodeDiagnostic__Output } from '../../gantry/v1/NodeDiagnostic';
import type { Long } from '@grpc/proto-loader';

export interface Node {
  'name'?: (string);
  'address'?: (string);
  'connectivity'?: (_gantry_v1_Connectivity);
  'schedulability'?: (_gantry_v1_Schedulability);
  'schedulabilityReason'?: (string);
  'health'?: (_gantry_v1_Severity);
  'verdicts'?: (_gantry_v1_HealthVerdict)[];
  'inventory'?: (_gantry_v1_Inventory | null);
  'labels'?: ({[key: string]: string});
  'agentVersion'?: (string);
  'registeredUnixMs'?: (number | string | Long);
  'lastSeenUnixMs'?: (number | string | Long);
  'reportsReceived'?: (number | string | Long);
  'drainDeadlineUnixMs'?: (number | string | Long);
  'awaitingApproval'?: (boolean);
  'allowedUsers'?: (string)[];
  'allowRoot'?: (boolean);
  'lastDiagnostic'?: (_gantry_v1_NodeDiagnostic | null);
}

export interface Node__Output {
  'name': (string);
  'address': (string);
  'connectivity': (_gantry_v1_Connectivity__Output);
  'schedulability': (_gantry_v1_Schedulability__Output);
  'schedulabilityReason': (string);
  'health': (_gantry_v1_Severity__Output);
  'verdicts': (_gantry_v1_HealthVerdict__Output)[];
  'inventory': (_gantry_v1_Inventory__Output | null);
  'labels': ({[key: string]: string});
  'agentVersion': (string);
  'registeredUnixMs': (number);
  'lastSeenUnixMs': (number);
  'reportsReceived': (number);
  'drainDeadlineUnixMs': (number);
  'awaitingApproval': (boolean);
  'allowedUsers': (string)[];
  'allowRoot': (boolean);
  'lastDiagnostic': (_gantry_v1_NodeDiagnostic__Output | null);
}
