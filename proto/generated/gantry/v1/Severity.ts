// Original file: proto/gantry/v1/types.proto

export const Severity = {
  SEVERITY_UNSPECIFIED: 'SEVERITY_UNSPECIFIED',
  SEVERITY_OK: 'SEVERITY_OK',
  SEVERITY_WARN: 'SEVERITY_WARN',
  SEVERITY_FAIL: 'SEVERITY_FAIL',
} as const;

export type Severity =
  | 'SEVERITY_UNSPECIFIED'
  | 0
  | 'SEVERITY_OK'
  | 1
  | 'SEVERITY_WARN'
  | 2
  | 'SEVERITY_FAIL'
  | 3

export type Severity__Output = typeof Severity[keyof typeof Severity]
