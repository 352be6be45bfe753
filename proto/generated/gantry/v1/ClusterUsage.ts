// Original file: proto/gantry/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface ClusterUsage {
  'sinceUnixMs'?: (number | string | Long);
  'untilUnixMs'?: (number | string | Long);
  'totalGpuMs'?: (number | string | Long);
  'allocatedGpuMs'?: (number | string | Long);
  'reservedGpuMs'?: (number | string | Long);
  'downOrDrainedGpuMs'?: (number | string | Long);
  'idleGpuMs'?: (number | string | Long);
  'nodes'?: (number);
}

export interface ClusterUsage__Output {
  'sinceUnixMs': (number);
  'untilUnixMs': (number);
  'totalGpuMs': (number);
  'allocatedGpuMs': (number);
  'reservedGpuMs': (number);
  'downOrDrainedGpuMs': (number);
  'idleGpuMs': (number);
  'nodes': (number);
}
