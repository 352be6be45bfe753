// Original file: proto/gantry/v1/agent.proto

import type { ServiceSlo as _gantry_v1_ServiceSlo, ServiceSlo__Output as _gantry_v1_ServiceSlo__Output } from '../../gantry/v1/ServiceSlo';
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
  'slo'?: (_gantry_v1_ServiceSlo | null);
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
  'slo': (_gantry_v1_ServiceSlo__Output | null);
}
