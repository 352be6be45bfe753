// Original file: proto/gantry/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface WhoAmIResponse {
  'name'?: (string);
  'kind'?: (string);
  'authenticatedBy'?: (string);
  'groups'?: (string)[];
  'roles'?: (string)[];
  'permissions'?: (string)[];
  'runAs'?: (string)[];
  'expiresUnixMs'?: (number | string | Long);
}

export interface WhoAmIResponse__Output {
  'name': (string);
  'kind': (string);
  'authenticatedBy': (string);
  'groups': (string)[];
  'roles': (string)[];
  'permissions': (string)[];
  'runAs': (string)[];
  'expiresUnixMs': (number);
}
