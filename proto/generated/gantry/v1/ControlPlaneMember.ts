// Original file: proto/gantry/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface ControlPlaneMember {
  'schedulerId'?: (string);
  'address'?: (string);
  'role'?: (string);
  'term'?: (number | string | Long);
  'roleSinceUnixMs'?: (number | string | Long);
  'appliedSeq'?: (number | string | Long);
  'headSeq'?: (number | string | Long);
  'leaderId'?: (string);
  'leaderAddress'?: (string);
}

export interface ControlPlaneMember__Output {
  'schedulerId': (string);
  'address': (string);
  'role': (string);
  'term': (number);
  'roleSinceUnixMs': (number);
  'appliedSeq': (number);
  'headSeq': (number);
  'leaderId': (string);
  'leaderAddress': (string);
}
