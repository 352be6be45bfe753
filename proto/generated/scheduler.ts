import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { CancelJobRequest as _gantry_v1_CancelJobRequest, CancelJobRequest__Output as _gantry_v1_CancelJobRequest__Output } from './gantry/v1/CancelJobRequest';
import type { ClusterTopology as _gantry_v1_ClusterTopology, ClusterTopology__Output as _gantry_v1_ClusterTopology__Output } from './gantry/v1/ClusterTopology';
import type { ClusterUsage as _gantry_v1_ClusterUsage, ClusterUsage__Output as _gantry_v1_ClusterUsage__Output } from './gantry/v1/ClusterUsage';
import type { ControlPlaneMember as _gantry_v1_ControlPlaneMember, ControlPlaneMember__Output as _gantry_v1_ControlPlaneMember__Output } from './gantry/v1/ControlPlaneMember';
import type { DeleteNodeResponse as _gantry_v1_DeleteNodeResponse, DeleteNodeResponse__Output as _gantry_v1_DeleteNodeResponse__Output } from './gantry/v1/DeleteNodeResponse';
import type { ExplainJobResponse as _gantry_v1_ExplainJobResponse, ExplainJobResponse__Output as _gantry_v1_ExplainJobResponse__Output } from './gantry/v1/ExplainJobResponse';
import type { ExplainReason as _gantry_v1_ExplainReason, ExplainReason__Output as _gantry_v1_ExplainReason__Output } from './gantry/v1/ExplainReason';
import type { Fabric as _gantry_v1_Fabric, Fabric__Output as _gantry_v1_Fabric__Output } from './gantry/v1/Fabric';
import type { Firmware as _gantry_v1_Firmware, Firmware__Output as _gantry_v1_Firmware__Output } from './gantry/v1/Firmware';
import type { GetClusterUsageRequest as _gantry_v1_GetClusterUsageRequest, GetClusterUsageRequest__Output as _gantry_v1_GetClusterUsageRequest__Output } from './gantry/v1/GetClusterUsageRequest';
import type { GetControlPlaneRequest as _gantry_v1_GetControlPlaneRequest, GetControlPlaneRequest__Output as _gantry_v1_GetControlPlaneRequest__Output } from './gantry/v1/GetControlPlaneRequest';
import type { GetJobRequest as _gantry_v1_GetJobRequest, GetJobRequest__Output as _gantry_v1_GetJobRequest__Output } from './gantry/v1/GetJobRequest';
import type { GetNodeRequest as _gantry_v1_GetNodeRequest, GetNodeRequest__Output as _gantry_v1_GetNodeRequest__Output } from './gantry/v1/GetNodeRequest';
import type { GetTopologyRequest as _gantry_v1_GetTopologyRequest, GetTopologyRequest__Output as _gantry_v1_GetTopologyRequest__Output } from './gantry/v1/GetTopologyRequest';
import type { GetUsageRequest as _gantry_v1_GetUsageRequest, GetUsageRequest__Output as _gantry_v1_GetUsageRequest__Output } from './gantry/v1/GetUsageRequest';
import type { GetUsageResponse as _gantry_v1_GetUsageResponse, GetUsageResponse__Output as _gantry_v1_GetUsageResponse__Output } from './gantry/v1/GetUsageResponse';
import type { Gpu as _gantry_v1_Gpu, Gpu__Output as _gantry_v1_Gpu__Output } from './gantry/v1/Gpu';
import type { GpuPlatform as _gantry_v1_GpuPlatform, GpuPlatform__Output as _gantry_v1_GpuPlatform__Output } from './gantry/v1/GpuPlatform';
import type { Hca as _gantry_v1_Hca, Hca__Output as _gantry_v1_Hca__Output } from './gantry/v1/Hca';
import type { HcaPort as _gantry_v1_HcaPort, HcaPort__Output as _gantry_v1_HcaPort__Output } from './gantry/v1/HcaPort';
import type { HealthVerdict as _gantry_v1_HealthVerdict, HealthVerdict__Output as _gantry_v1_HealthVerdict__Output } from './gantry/v1/HealthVerdict';
import type { Host as _gantry_v1_Host, Host__Output as _gantry_v1_Host__Output } from './gantry/v1/Host';
import type { Inventory as _gantry_v1_Inventory, Inventory__Output as _gantry_v1_Inventory__Output } from './gantry/v1/Inventory';
import type { Job as _gantry_v1_Job, Job__Output as _gantry_v1_Job__Output } from './gantry/v1/Job';
import type { LinkGroup as _gantry_v1_LinkGroup, LinkGroup__Output as _gantry_v1_LinkGroup__Output } from './gantry/v1/LinkGroup';
import type { LinkMatrix as _gantry_v1_LinkMatrix, LinkMatrix__Output as _gantry_v1_LinkMatrix__Output } from './gantry/v1/LinkMatrix';
import type { LinkMatrixRow as _gantry_v1_LinkMatrixRow, LinkMatrixRow__Output as _gantry_v1_LinkMatrixRow__Output } from './gantry/v1/LinkMatrixRow';
import type { ListJobsRequest as _gantry_v1_ListJobsRequest, ListJobsRequest__Output as _gantry_v1_ListJobsRequest__Output } from './gantry/v1/ListJobsRequest';
import type { ListJobsResponse as _gantry_v1_ListJobsResponse, ListJobsResponse__Output as _gantry_v1_ListJobsResponse__Output } from './gantry/v1/ListJobsResponse';
import type { ListNodesRequest as _gantry_v1_ListNodesRequest, ListNodesRequest__Output as _gantry_v1_ListNodesRequest__Output } from './gantry/v1/ListNodesRequest';
import type { ListNodesResponse as _gantry_v1_ListNodesResponse, ListNodesResponse__Output as _gantry_v1_ListNodesResponse__Output } from './gantry/v1/ListNodesResponse';
import type { MigInstance as _gantry_v1_MigInstance, MigInstance__Output as _gantry_v1_MigInstance__Output } from './gantry/v1/MigInstance';
import type { Node as _gantry_v1_Node, Node__Output as _gantry_v1_Node__Output } from './gantry/v1/Node';
import type { NodeActionRequest as _gantry_v1_NodeActionRequest, NodeActionRequest__Output as _gantry_v1_NodeActionRequest__Output } from './gantry/v1/NodeActionRequest';
import type { NodeDiagnostic as _gantry_v1_NodeDiagnostic, NodeDiagnostic__Output as _gantry_v1_NodeDiagnostic__Output } from './gantry/v1/NodeDiagnostic';
import type { RankFault as _gantry_v1_RankFault, RankFault__Output as _gantry_v1_RankFault__Output } from './gantry/v1/RankFault';
import type { RankPlacement as _gantry_v1_RankPlacement, RankPlacement__Output as _gantry_v1_RankPlacement__Output } from './gantry/v1/RankPlacement';
import type { ReadLogsRequest as _gantry_v1_ReadLogsRequest, ReadLogsRequest__Output as _gantry_v1_ReadLogsRequest__Output } from './gantry/v1/ReadLogsRequest';
import type { ReadLogsResponse as _gantry_v1_ReadLogsResponse, ReadLogsResponse__Output as _gantry_v1_ReadLogsResponse__Output } from './gantry/v1/ReadLogsResponse';
import type { ReleaseJobRequest as _gantry_v1_ReleaseJobRequest, ReleaseJobRequest__Output as _gantry_v1_ReleaseJobRequest__Output } from './gantry/v1/ReleaseJobRequest';
import type { SchedulerServiceClient as _gantry_v1_SchedulerServiceClient, SchedulerServiceDefinition as _gantry_v1_SchedulerServiceDefinition } from './gantry/v1/SchedulerService';
import type { SubmitJobRequest as _gantry_v1_SubmitJobRequest, SubmitJobRequest__Output as _gantry_v1_SubmitJobRequest__Output } from './gantry/v1/SubmitJobRequest';
import type { TaskUsage as _gantry_v1_TaskUsage, TaskUsage__Output as _gantry_v1_TaskUsage__Output } from './gantry/v1/TaskUsage';
import type { Topology as _gantry_v1_Topology, Topology__Output as _gantry_v1_Topology__Output } from './gantry/v1/Topology';
import type { TopologyDomain as _gantry_v1_TopologyDomain, TopologyDomain__Output as _gantry_v1_TopologyDomain__Output } from './gantry/v1/TopologyDomain';
import type { UsageRow as _gantry_v1_UsageRow, UsageRow__Output as _gantry_v1_UsageRow__Output } from './gantry/v1/UsageRow';
import type { WatchEventsRequest as _gantry_v1_WatchEventsRequest, WatchEventsRequest__Output as _gantry_v1_WatchEventsRequest__Output } from './gantry/v1/WatchEventsRequest';
import type { WatchEventsResponse as _gantry_v1_WatchEventsResponse, WatchEventsResponse__Output as _gantry_v1_WatchEventsResponse__Output } from './gantry/v1/WatchEventsResponse';
import type { WhoAmIRequest as _gantry_v1_WhoAmIRequest, WhoAmIRequest__Output as _gantry_v1_WhoAmIRequest__Output } from './gantry/v1/WhoAmIRequest';
import type { WhoAmIResponse as _gantry_v1_WhoAmIResponse, WhoAmIResponse__Output as _gantry_v1_WhoAmIResponse__Output } from './gantry/v1/WhoAmIResponse';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  gantry: {
    v1: {
      CancelJobRequest: MessageTypeDefinition<_gantry_v1_CancelJobRequest, _gantry_v1_CancelJobRequest__Output>
      ClusterTopology: MessageTypeDefinition<_gantry_v1_ClusterTopology, _gantry_v1_ClusterTopology__Output>
      ClusterUsage: MessageTypeDefinition<_gantry_v1_ClusterUsage, _gantry_v1_ClusterUsage__Output>
      Connectivity: EnumTypeDefinition
      ControlPlaneMember: MessageTypeDefinition<_gantry_v1_ControlPlaneMember, _gantry_v1_ControlPlaneMember__Output>
      DeleteNodeResponse: MessageTypeDefinition<_gantry_v1_DeleteNodeResponse, _gantry_v1_DeleteNodeResponse__Output>
      ExplainJobResponse: MessageTypeDefinition<_gantry_v1_ExplainJobResponse, _gantry_v1_ExplainJobResponse__Output>
      ExplainReason: MessageTypeDefinition<_gantry_v1_ExplainReason, _gantry_v1_ExplainReason__Output>
      Fabric: MessageTypeDefinition<_gantry_v1_Fabric, _gantry_v1_Fabric__Output>
      Firmware: MessageTypeDefinition<_gantry_v1_Firmware, _gantry_v1_Firmware__Output>
      GetClusterUsageRequest: MessageTypeDefinition<_gantry_v1_GetClusterUsageRequest, _gantry_v1_GetClusterUsageRequest__Output>
      GetControlPlaneRequest: MessageTypeDefinition<_gantry_v1_GetControlPlaneRequest, _gantry_v1_GetControlPlaneRequest__Output>
      GetJobRequest: MessageTypeDefinition<_gantry_v1_GetJobRequest, _gantry_v1_GetJobRequest__Output>
      GetNodeRequest: MessageTypeDefinition<_gantry_v1_GetNodeRequest, _gantry_v1_GetNodeRequest__Output>
      GetTopologyRequest: MessageTypeDefinition<_gantry_v1_GetTopologyRequest, _gantry_v1_GetTopologyRequest__Output>
      GetUsageRequest: MessageTypeDefinition<_gantry_v1_GetUsageRequest, _gantry_v1_GetUsageRequest__Output>
      GetUsageResponse: MessageTypeDefinition<_gantry_v1_GetUsageResponse, _gantry_v1_GetUsageResponse__Output>
      Gpu: MessageTypeDefinition<_gantry_v1_Gpu, _gantry_v1_Gpu__Output>
      GpuPlatform: MessageTypeDefinition<_gantry_v1_GpuPlatform, _gantry_v1_GpuPlatform__Output>
      Hca: MessageTypeDefinition<_gantry_v1_Hca, _gantry_v1_Hca__Output>
      HcaPort: MessageTypeDefinition<_gantry_v1_HcaPort, _gantry_v1_HcaPort__Output>
      HealthVerdict: MessageTypeDefinition<_gantry_v1_HealthVerdict, _gantry_v1_HealthVerdict__Output>
      Host: MessageTypeDefinition<_gantry_v1_Host, _gantry_v1_Host__Output>
      Inventory: MessageTypeDefinition<_gantry_v1_Inventory, _gantry_v1_Inventory__Output>
      Job: MessageTypeDefinition<_gantry_v1_Job, _gantry_v1_Job__Output>
      LinkGroup: MessageTypeDefinition<_gantry_v1_LinkGroup, _gantry_v1_LinkGroup__Output>
      LinkMatrix: MessageTypeDefinition<_gantry_v1_LinkMatrix, _gantry_v1_LinkMatrix__Output>
      LinkMatrixRow: MessageTypeDefinition<_gantry_v1_LinkMatrixRow, _gantry_v1_LinkMatrixRow__Output>
      ListJobsRequest: MessageTypeDefinition<_gantry_v1_ListJobsRequest, _gantry_v1_ListJobsRequest__Output>
      ListJobsResponse: MessageTypeDefinition<_gantry_v1_ListJobsResponse, _gantry_v1_ListJobsResponse__Output>
      ListNodesRequest: MessageTypeDefinition<_gantry_v1_ListNodesRequest, _gantry_v1_ListNodesRequest__Output>
      ListNodesResponse: MessageTypeDefinition<_gantry_v1_ListNodesResponse, _gantry_v1_ListNodesResponse__Output>
      MigInstance: MessageTypeDefinition<_gantry_v1_MigInstance, _gantry_v1_MigInstance__Output>
      Node: MessageTypeDefinition<_gantry_v1_Node, _gantry_v1_Node__Output>
      NodeActionRequest: MessageTypeDefinition<_gantry_v1_NodeActionRequest, _gantry_v1_NodeActionRequest__Output>
      NodeDiagnostic: MessageTypeDefinition<_gantry_v1_NodeDiagnostic, _gantry_v1_NodeDiagnostic__Output>
      RankFault: MessageTypeDefinition<_gantry_v1_RankFault, _gantry_v1_RankFault__Output>
      RankPlacement: MessageTypeDefinition<_gantry_v1_RankPlacement, _gantry_v1_RankPlacement__Output>
      ReadLogsRequest: MessageTypeDefinition<_gantry_v1_ReadLogsRequest, _gantry_v1_ReadLogsRequest__Output>
      ReadLogsResponse: MessageTypeDefinition<_gantry_v1_ReadLogsResponse, _gantry_v1_ReadLogsResponse__Output>
      ReleaseJobRequest: MessageTypeDefinition<_gantry_v1_ReleaseJobRequest, _gantry_v1_ReleaseJobRequest__Output>
      Schedulability: EnumTypeDefinition
      SchedulerService: SubtypeConstructor<typeof grpc.Client, _gantry_v1_SchedulerServiceClient> & { service: _gantry_v1_SchedulerServiceDefinition }
      Severity: EnumTypeDefinition
      SubmitJobRequest: MessageTypeDefinition<_gantry_v1_SubmitJobRequest, _gantry_v1_SubmitJobRequest__Output>
      TaskUsage: MessageTypeDefinition<_gantry_v1_TaskUsage, _gantry_v1_TaskUsage__Output>
      Topology: MessageTypeDefinition<_gantry_v1_Topology, _gantry_v1_Topology__Output>
      TopologyDomain: MessageTypeDefinition<_gantry_v1_TopologyDomain, _gantry_v1_TopologyDomain__Output>
      UsageRow: MessageTypeDefinition<_gantry_v1_UsageRow, _gantry_v1_UsageRow__Output>
      WatchEventsRequest: MessageTypeDefinition<_gantry_v1_WatchEventsRequest, _gantry_v1_WatchEventsRequest__Output>
      WatchEventsResponse: MessageTypeDefinition<_gantry_v1_WatchEventsResponse, _gantry_v1_WatchEventsResponse__Output>
      WhoAmIRequest: MessageTypeDefinition<_gantry_v1_WhoAmIRequest, _gantry_v1_WhoAmIRequest__Output>
      WhoAmIResponse: MessageTypeDefinition<_gantry_v1_WhoAmIResponse, _gantry_v1_WhoAmIResponse__Output>
    }
  }
}

