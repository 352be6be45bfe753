// Original file: proto/gantry/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface RankFault {
  'xid'?: (number);
  'rank'?: (number);
  'epoch'?: (number | string | Long);
  'node'?: (string);
  'gpu'?: (number);
  'pid'?: (number);
  'processName'?: (string);
  'atUnixMs'?: (number | string | Long);
  'evidence'?: (string);
}

export interface RankFault__Output {
  'xid': (number);
  'rank': (number);
  'epoch': (number);
  'node': (string);
  'gpu': (number);
  'pid': (number);
  'processName': (string);
  'atUnixMs': (number);
  'evidence': (string);
}
