// Original file: proto/gantry/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface StartTask {
  'jobId'?: (string);
  'rank'?: (number);
  'epoch'?: (number | string | Long);
  'command'?: (string)[];
  'env'?: ({[key: string]: string});
  'workdir'?: (string);
  'runAs'?: (string);
  'gpus'?: (number)[];
  'graceSeconds'?: (number);
}

export interface StartTask__Output {
  'jobId': (string);
  'rank': (number);
  'epoch': (number);
  'command': (string)[];
  'env': ({[key: string]: string});
  'workdir': (string);
  'runAs': (string);
  'gpus': (number)[];
  'graceSeconds': (number);
}
