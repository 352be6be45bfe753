// Original file: proto/gantry/v1/types.proto

import type { Long } from '@grpc/proto-loader';

export interface TaskUsage {
  'hasCpuUsec'?: (boolean);
  'cpuUsec'?: (number | string | Long);
  'hasMemoryPeakBytes'?: (boolean);
  'memoryPeakBytes'?: (number | string | Long);
  'hasOomKills'?: (boolean);
  'oomKills'?: (number);
}

export interface TaskUsage__Output {
  'hasCpuUsec': (boolean);
  'cpuUsec': (number);
  'hasMemoryPeakBytes': (boolean);
  'memoryPeakBytes': (number);
  'hasOomKills': (boolean);
  'oomKills': (number);
}
