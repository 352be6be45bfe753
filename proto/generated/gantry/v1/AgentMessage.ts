// Original file: proto/gantry/v1/agent.proto

import type { Register as _gantry_v1_Register, Register__Output as _gantry_v1_Register__Output } from '../../gantry/v1/Register';
import type { Report as _gantry_v1_Report, Report__Output as _gantry_v1_Report__Output } from '../../gantry/v1/Report';
import type { TaskUpdate as _gantry_v1_TaskUpdate, TaskUpdate__Output as _gantry_v1_TaskUpdate__Output } from '../../gantry/v1/TaskUpdate';
import type { LogChunk as _gantry_v1_LogChunk, LogChunk__Output as _gantry_v1_LogChunk__Output } from '../../gantry/v1/LogChunk';
import type { NodeIncident as _gantry_v1_NodeIncident, NodeIncident__Output as _gantry_v1_NodeIncident__Output } from '../../gantry/v1/NodeIncident';
import type { JobFault as _gantry_v1_JobFault, JobFault__Output as _gantry_v1_JobFault__Output } from '../../gantry/v1/JobFault';
import type { DiagnosticResult as _gantry_v1_DiagnosticResult, DiagnosticResult__Output as _gantry_v1_DiagnosticResult__Output } from '../../gantry/v1/DiagnosticResult';

export interface AgentMessage {
  'register'?: (_gantry_v1_Register | null);
  'report'?: (_gantry_v1_Report | null);
  'taskUpdate'?: (_gantry_v1_TaskUpdate | null);
  'logChunk'?: (_gantry_v1_LogChunk | null);
  'incident'?: (_gantry_v1_NodeIncident | null);
  'jobFault'?: (_gantry_v1_JobFault | null);
  'diagnosticResult'?: (_gantry_v1_DiagnosticResult | null);
  'body'?: "register"|"report"|"taskUpdate"|"logChunk"|"incident"|"jobFault"|"diagnosticResult";
}

export interface AgentMessage__Output {
  'register'?: (_gantry_v1_Register__Output | null);
  'report'?: (_gantry_v1_Report__Output | null);
  'taskUpdate'?: (_gantry_v1_TaskUpdate__Output | null);
  'logChunk'?: (_gantry_v1_LogChunk__Output | null);
  'incident'?: (_gantry_v1_NodeIncident__Output | null);
  'jobFault'?: (_gantry_v1_JobFault__Output | null);
  'diagnosticResult'?: (_gantry_v1_DiagnosticResult__Output | null);
  'body'?: "register"|"report"|"taskUpdate"|"logChunk"|"incident"|"jobFault"|"diagnosticResult";
}
