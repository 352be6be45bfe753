// Original file: proto/gantry/v1/scheduler.proto

import type { RankPlacement as _gantry_v1_RankPlacement, RankPlacement__Output as _gantry_v1_RankPlacement__Output } from '../../gantry/v1/RankPlacement';
import type { RankFault as _gantry_v1_RankFault, RankFault__Output as _gantry_v1_RankFault__Output } from '../../gantry/v1/RankFault';
import type { Long } from '@grpc/proto-loader';

export interface Job {
  'id'?: (string);
  'name'?: (string);
  'kind'?: (string);
  'queue'?: (string);
  'priority'?: (number);
  'state'?: (string);
  'message'?: (string);
  'attempt'?: (number);
  'epoch'?: (number | string | Long);
  'submittedUnixMs'?: (number | string | Long);
  'updatedUnixMs'?: (number | string | Long);
  'startedUnixMs'?: (number | string | Long);
  'finishedUnixMs'?: (number | string | Long);
  'ranks'?: (_gantry_v1_RankPlacement)[];
  'specJson'?: (string);
  'owner'?: (string);
  'masterPort'?: (number);
  'submittedBy'?: (string);
  'runAs'?: (string);
  'deadlineUnixMs'?: (number | string | Long);
  'faults'?: (_gantry_v1_RankFault)[];
  'heldReason'?: (string);
  'prologFailedOn'?: (string)[];
}

export interface Job__Output {
  'id': (string);
  'name': (string);
  'kind': (string);
  'queue': (string);
  'priority': (number);
  'state': (string);
  'message': (string);
  'attempt': (number);
  'epoch': (number);
  'submittedUnixMs': (number);
  'updatedUnixMs': (number);
  'startedUnixMs': (number);
  'finishedUnixMs': (number);
  'ranks': (_gantry_v1_RankPlacement__Output)[];
  'specJson': (string);
  'owner': (string);
  'masterPort': (number);
  'submittedBy': (string);
  'runAs': (string);
  'deadlineUnixMs': (number);
  'faults': (_gantry_v1_RankFault__Output)[];
  'heldReason': (string);
  'prologFailedOn': (string)[];
}
