// Original file: proto/gantry/v1/types.proto

export const Schedulability = {
  SCHEDULABILITY_UNSPECIFIED: 'SCHEDULABILITY_UNSPECIFIED',
  SCHEDULABILITY_SCHEDULABLE: 'SCHEDULABILITY_SCHEDULABLE',
  SCHEDULABILITY_CORDONED: 'SCHEDULABILITY_CORDONED',
  SCHEDULABILITY_DRAINING: 'SCHEDULABILITY_DRAINING',
} as const;

export type Schedulability =
  | 'SCHEDULABILITY_UNSPECIFIED'
  | 0
  | 'SCHEDULABILITY_SCHEDULABLE'
  | 1
  | 'SCHEDULABILITY_CORDONED'
  | 2
  | 'SCHEDULABILITY_DRAINING'
  | 3

export type Schedulability__Output = typeof Schedulability[keyof typeof Schedulability]
