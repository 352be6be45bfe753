// Original file: proto/gantry/v1/agent.proto

import type { ServiceSlo as _gantry_v1_ServiceSlo, ServiceSlo__Output as _gantry_v1_ServiceSlo__Output } from '../../gantry/v1/ServiceSlo';
import type { TaskResources as _gantry_v1_TaskResources, TaskResources__Output as _gantry_v1_TaskResources__Output } from '../../gantry/v1/TaskResources';
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
  'deadlineUnixMs'?: (number | string | Long);
  'resources'?: (_gantry_v1_TaskResources | null);
  'term'?: (number | string | Long);
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
  'deadlineUnixMs': (number);
  'resources': (_gantry_v1_TaskResources__Output | null);
  'term': (number);
}
