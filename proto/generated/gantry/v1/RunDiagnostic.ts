// Original file: proto/gantry/v1/agent.proto


export interface RunDiagnostic {
  'requestId'?: (string);
  'reason'?: (string);
}

export interface RunDiagnostic__Output {
  'requestId': (string);
  'reason': (string);
}
