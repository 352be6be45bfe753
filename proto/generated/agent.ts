import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AgentMessage as _gantry_v1_AgentMessage, AgentMessage__Output as _gantry_v1_AgentMessage__Output } from './gantry/v1/AgentMessage';
import type { AgentServiceClient as _gantry_v1_AgentServiceClient, AgentServiceDefinition as _gantry_v1_AgentServiceDefinition } from './gantry/v1/AgentService';
import type { DiagnosticResult as _gantry_v1_DiagnosticResult, DiagnosticResult__Output as _gantry_v1_DiagnosticResult__Output } from './gantry/v1/DiagnosticResult';
import type { Fabric as _gantry_v1_Fabric, Fabric__Output as _gantry_v1_Fabric__Output } from './gantry/v1/Fabric';
import type { Firmware as _gantry_v1_Firmware, Firmware__Output as _gantry_v1_Firmware__Output } from './gantry/v1/Firmware';
import type { Gpu as _gantry_v1_Gpu, Gpu__Output as _gantry_v1_Gpu__Output } from './gantry/v1/Gpu';
import type { GpuPlatform as _gantry_v1_GpuPlatform, GpuPlatform__Output as _gantry_v1_GpuPlatform__Output } from './gantry/v1/GpuPlatform';
import type { Hca as _gantry_v1_Hca, Hca__Output as _gantry_v1_Hca__Output } from './gantry/v1/Hca';
import type { HcaPort as _gantry_v1_HcaPort, HcaPort__Output as _gantry_v1_HcaPort__Output } from './gantry/v1/HcaPort';
import type { HealthVerdict as _gantry_v1_HealthVerdict, HealthVerdict__Output as _gantry_v1_HealthVerdict__Output } from './gantry/v1/HealthVerdict';
import type { Host as _gantry_v1_Host, Host__Output as _gantry_v1_Host__Output } from './gantry/v1/Host';
import type { Inventory as _gantry_v1_Inventory, Inventory__Output as _gantry_v1_Inventory__Output } from './gantry/v1/Inventory';
import type { JobFault as _gantry_v1_JobFault, JobFault__Output as _gantry_v1_JobFault__Output } from './gantry/v1/JobFault';
import type { LatencyEndpoint as _gantry_v1_LatencyEndpoint, LatencyEndpoint__Output as _gantry_v1_LatencyEndpoint__Output } from './gantry/v1/LatencyEndpoint';
import type { LatencyPeer as _gantry_v1_LatencyPeer, LatencyPeer__Output as _gantry_v1_LatencyPeer__Output } from './gantry/v1/LatencyPeer';
import type { LatencyPeers as _gantry_v1_LatencyPeers, LatencyPeers__Output as _gantry_v1_LatencyPeers__Output } from './gantry/v1/LatencyPeers';
import type { LeftoverProcess as _gantry_v1_LeftoverProcess, LeftoverProcess__Output as _gantry_v1_LeftoverProcess__Output } from './gantry/v1/LeftoverProcess';
import type { LinkGroup as _gantry_v1_LinkGroup, LinkGroup__Output as _gantry_v1_LinkGroup__Output } from './gantry/v1/LinkGroup';
import type { LinkMatrix as _gantry_v1_LinkMatrix, LinkMatrix__Output as _gantry_v1_LinkMatrix__Output } from './gantry/v1/LinkMatrix';
import type { LinkMatrixRow as _gantry_v1_LinkMatrixRow, LinkMatrixRow__Output as _gantry_v1_LinkMatrixRow__Output } from './gantry/v1/LinkMatrixRow';
import type { LogChunk as _gantry_v1_LogChunk, LogChunk__Output as _gantry_v1_LogChunk__Output } from './gantry/v1/LogChunk';
import type { MigInstance as _gantry_v1_MigInstance, MigInstance__Output as _gantry_v1_MigInstance__Output } from './gantry/v1/MigInstance';
import type { NodeIncident as _gantry_v1_NodeIncident, NodeIncident__Output as _gantry_v1_NodeIncident__Output } from './gantry/v1/NodeIncident';
import type { ReadLog as _gantry_v1_ReadLog, ReadLog__Output as _gantry_v1_ReadLog__Output } from './gantry/v1/ReadLog';
import type { Register as _gantry_v1_Register, Register__Output as _gantry_v1_Register__Output } from './gantry/v1/Register';
import type { Registered as _gantry_v1_Registered, Registered__Output as _gantry_v1_Registered__Output } from './gantry/v1/Registered';
import type { Report as _gantry_v1_Report, Report__Output as _gantry_v1_Report__Output } from './gantry/v1/Report';
import type { RunDiagnostic as _gantry_v1_RunDiagnostic, RunDiagnostic__Output as _gantry_v1_RunDiagnostic__Output } from './gantry/v1/RunDiagnostic';
import type { SchedulerMessage as _gantry_v1_SchedulerMessage, SchedulerMessage__Output as _gantry_v1_SchedulerMessage__Output } from './gantry/v1/SchedulerMessage';
import type { ServiceSlo as _gantry_v1_ServiceSlo, ServiceSlo__Output as _gantry_v1_ServiceSlo__Output } from './gantry/v1/ServiceSlo';
import type { StartTask as _gantry_v1_StartTask, StartTask__Output as _gantry_v1_StartTask__Output } from './gantry/v1/StartTask';
import type { StopTask as _gantry_v1_StopTask, StopTask__Output as _gantry_v1_StopTask__Output } from './gantry/v1/StopTask';
import type { TaskResources as _gantry_v1_TaskResources, TaskResources__Output as _gantry_v1_TaskResources__Output } from './gantry/v1/TaskResources';
import type { TaskStatus as _gantry_v1_TaskStatus, TaskStatus__Output as _gantry_v1_TaskStatus__Output } from './gantry/v1/TaskStatus';
import type { TaskUpdate as _gantry_v1_TaskUpdate, TaskUpdate__Output as _gantry_v1_TaskUpdate__Output } from './gantry/v1/TaskUpdate';
import type { TaskUsage as _gantry_v1_TaskUsage, TaskUsage__Output as _gantry_v1_TaskUsage__Output } from './gantry/v1/TaskUsage';
import type { Topology as _gantry_v1_Topology, Topology__Output as _gantry_v1_Topology__Output } from './gantry/v1/Topology';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  gantry: {
    v1: {
      AgentMessage: MessageTypeDefinition<_gantry_v1_AgentMessage, _gantry_v1_AgentMessage__Output>
      AgentService: SubtypeConstructor<typeof grpc.Client, _gantry_v1_AgentServiceClient> & { service: _gantry_v1_AgentServiceDefinition }
      Connectivity: EnumTypeDefinition
      DiagnosticResult: MessageTypeDefinition<_gantry_v1_DiagnosticResult, _gantry_v1_DiagnosticResult__Output>
      Fabric: MessageTypeDefinition<_gantry_v1_Fabric, _gantry_v1_Fabric__Output>
      Firmware: MessageTypeDefinition<_gantry_v1_Firmware, _gantry_v1_Firmware__Output>
      Gpu: MessageTypeDefinition<_gantry_v1_Gpu, _gantry_v1_Gpu__Output>
      GpuPlatform: MessageTypeDefinition<_gantry_v1_GpuPlatform, _gantry_v1_GpuPlatform__Output>
      Hca: MessageTypeDefinition<_gantry_v1_Hca, _gantry_v1_Hca__Output>
      HcaPort: MessageTypeDefinition<_gantry_v1_HcaPort, _gantry_v1_HcaPort__Output>
      HealthVerdict: MessageTypeDefinition<_gantry_v1_HealthVerdict, _gantry_v1_HealthVerdict__Output>
      Host: MessageTypeDefinition<_gantry_v1_Host, _gantry_v1_Host__Output>
      Inventory: MessageTypeDefinition<_gantry_v1_Inventory, _gantry_v1_Inventory__Output>
      JobFault: MessageTypeDefinition<_gantry_v1_JobFault, _gantry_v1_JobFault__Output>
      LatencyEndpoint: MessageTypeDefinition<_gantry_v1_LatencyEndpoint, _gantry_v1_LatencyEndpoint__Output>
      LatencyPeer: MessageTypeDefinition<_gantry_v1_LatencyPeer, _gantry_v1_LatencyPeer__Output>
      LatencyPeers: MessageTypeDefinition<_gantry_v1_LatencyPeers, _gantry_v1_LatencyPeers__Output>
      LeftoverProcess: MessageTypeDefinition<_gantry_v1_LeftoverProcess, _gantry_v1_LeftoverProcess__Output>
      LinkGroup: MessageTypeDefinition<_gantry_v1_LinkGroup, _gantry_v1_LinkGroup__Output>
      LinkMatrix: MessageTypeDefinition<_gantry_v1_LinkMatrix, _gantry_v1_LinkMatrix__Output>
      LinkMatrixRow: MessageTypeDefinition<_gantry_v1_LinkMatrixRow, _gantry_v1_LinkMatrixRow__Output>
      LogChunk: MessageTypeDefinition<_gantry_v1_LogChunk, _gantry_v1_LogChunk__Output>
      MigInstance: MessageTypeDefinition<_gantry_v1_MigInstance, _gantry_v1_MigInstance__Output>
      NodeIncident: MessageTypeDefinition<_gantry_v1_NodeIncident, _gantry_v1_NodeIncident__Output>
      ReadLog: MessageTypeDefinition<_gantry_v1_ReadLog, _gantry_v1_ReadLog__Output>
      Register: MessageTypeDefinition<_gantry_v1_Register, _gantry_v1_Register__Output>
      Registered: MessageTypeDefinition<_gantry_v1_Registered, _gantry_v1_Registered__Output>
      Report: MessageTypeDefinition<_gantry_v1_Report, _gantry_v1_Report__Output>
      RunDiagnostic: MessageTypeDefinition<_gantry_v1_RunDiagnostic, _gantry_v1_RunDiagnostic__Output>
      Schedulability: EnumTypeDefinition
      SchedulerMessage: MessageTypeDefinition<_gantry_v1_SchedulerMessage, _gantry_v1_SchedulerMessage__Output>
      ServiceSlo: MessageTypeDefinition<_gantry_v1_ServiceSlo, _gantry_v1_ServiceSlo__Output>
      Severity: EnumTypeDefinition
      StartTask: MessageTypeDefinition<_gantry_v1_StartTask, _gantry_v1_StartTask__Output>
      StopTask: MessageTypeDefinition<_gantry_v1_StopTask, _gantry_v1_StopTask__Output>
      TaskResources: MessageTypeDefinition<_gantry_v1_TaskResources, _gantry_v1_TaskResources__Output>
      TaskState: EnumTypeDefinition
      TaskStatus: MessageTypeDefinition<_gantry_v1_TaskStatus, _gantry_v1_TaskStatus__Output>
      TaskUpdate: MessageTypeDefinition<_gantry_v1_TaskUpdate, _gantry_v1_TaskUpdate__Output>
      TaskUsage: MessageTypeDefinition<_gantry_v1_TaskUsage, _gantry_v1_TaskUsage__Output>
      Topology: MessageTypeDefinition<_gantry_v1_Topology, _gantry_v1_Topology__Output>
    }
  }
}

