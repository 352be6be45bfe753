// Original file: proto/gantry/v1/types.proto

export const Connectivity = {
  CONNECTIVITY_UNSPECIFIED: 'CONNECTIVITY_UNSPECIFIED',
  CONNECTIVITY_READY: 'CONNECTIVITY_READY',
  CONNECTIVITY_LOST: 'CONNECTIVITY_LOST',
} as const;

export type Connectivity =
  | 'CONNECTIVITY_UNSPECIFIED'
  | 0
  | 'CONNECTIVITY_READY'
  | 1
  | 'CONNECTIVITY_LOST'
  | 2

export type Connectivity__Output = typeof Connectivity[keyof typeof Connectivity]
