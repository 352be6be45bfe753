// Original file: proto/gantry/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface UsageRow {
  'key'?: (string);
  'gpuMs'?: (number | string | Long);
  'gpuHours'?: (number | string);
  'jobs'?: (number);
  'ranks'?: (number);
  'started'?: (number);
  'waitMsTotal'?: (number | string | Long);
  'waitMsMax'?: (number | string | Long);
  'cpuUsec'?: (number | string | Long);
}

export interface UsageRow__Output {
  'key': (string);
  'gpuMs': (number);
  'gpuHours': (number);
  'jobs': (number);
  'ranks': (number);
  'started': (number);
  'waitMsTotal': (number);
  'waitMsMax': (number);
  'cpuUsec': (number);
}
