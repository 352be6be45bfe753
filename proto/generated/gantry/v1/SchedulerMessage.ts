// Original file: proto/gantry/v1/agent.proto

import type { Registered as _gantry_v1_Registered, Registered__Output as _gantry_v1_Registered__Output } from '../../gantry/v1/Registered';
import type { StartTask as _gantry_v1_StartTask, StartTask__Output as _gantry_v1_StartTask__Output } from '../../gantry/v1/StartTask';
import type { StopTask as _gantry_v1_StopTask, StopTask__Output as _gantry_v1_StopTask__Output } from '../../gantry/v1/StopTask';
import type { ReadLog as _gantry_v1_ReadLog, ReadLog__Output as _gantry_v1_ReadLog__Output } from '../../gantry/v1/ReadLog';
import type { LatencyPeers as _gantry_v1_LatencyPeers, LatencyPeers__Output as _gantry_v1_LatencyPeers__Output } from '../../gantry/v1/LatencyPeers';
import type { RunDiagnostic as _gantry_v1_RunDiagnostic, RunDiagnostic__Output as _gantry_v1_RunDiagnostic__Output } from '../../gantry/v1/RunDiagnostic';

export interface SchedulerMessage {
  'registered'?: (_gantry_v1_Registered | null);
  'startTask'?: (_gantry_v1_StartTask | null);
  'stopTask'?: (_gantry_v1_StopTask | null);
  'readLog'?: (_gantry_v1_ReadLog | null);
  'latencyPeers'?: (_gantry_v1_LatencyPeers | null);
  'runDiagnostic'?: (_gantry_v1_RunDiagnostic | null);
  'body'?: "registered"|"startTask"|"stopTask"|"readLog"|"latencyPeers"|"runDiagnostic";
}

export interface SchedulerMessage__Output {
  'registered'?: (_gantry_v1_Registered__Output | null);
  'startTask'?: (_gantry_v1_StartTask__Output | null);
  'stopTask'?: (_gantry_v1_StopTask__Output | null);
  'readLog'?: (_gantry_v1_ReadLog__Output | null);
  'latencyPeers'?: (_gantry_v1_LatencyPeers__Output | null);
  'runDiagnostic'?: (_gantry_v1_RunDiagnostic__Output | null);
  'body'?: "registered"|"startTask"|"stopTask"|"readLog"|"latencyPeers"|"runDiagnostic";
}
