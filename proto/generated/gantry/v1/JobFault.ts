// Original file: proto/gantry/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface JobFault {
  'jobId'?: (string);
  'rank'?: (number);
  'epoch'?: (number | string | Long);
  'xid'?: (number);
  'gpu'?: (number);
  'pid'?: (number);
  'processName'?: (string);
  'evidence'?: (string);
  'atUnixMs'?: (number | string | Long);
}

export interface JobFault__Output {
  'jobId': (string);
  'rank': (number);
  'epoch': (number);
  'xid': (number);
  'gpu': (number);
  'pid': (number);
  'processName': (string);
  'evidence': (string);
  'atUnixMs': (number);
}
