// Original file: proto/gantry/v1/scheduler.proto

import type { Job as _gantry_v1_Job, Job__Output as _gantry_v1_Job__Output } from '../../gantry/v1/Job';

export interface ListJobsResponse {
  'jobs'?: (_gantry_v1_Job)[];
}

export interface ListJobsResponse__Output {
  'jobs': (_gantry_v1_Job__Output)[];
}
