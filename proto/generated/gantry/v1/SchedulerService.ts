// Original file: proto/gantry/v1/scheduler.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CancelJobRequest as _gantry_v1_CancelJobRequest, CancelJobRequest__Output as _gantry_v1_CancelJobRequest__Output } from '../../gantry/v1/CancelJobRequest';
import type { ClusterTopology as _gantry_v1_ClusterTopology, ClusterTopology__Output as _gantry_v1_ClusterTopology__Output } from '../../gantry/v1/ClusterTopology';
import type { ClusterUsage as _gantry_v1_ClusterUsage, ClusterUsage__Output as _gantry_v1_ClusterUsage__Output } from '../../gantry/v1/ClusterUsage';
import type { ControlPlaneMember as _gantry_v1_ControlPlaneMember, ControlPlaneMember__Output as _gantry_v1_ControlPlaneMember__Output } from '../../gantry/v1/ControlPlaneMember';
import type { DeleteNodeResponse as _gantry_v1_DeleteNodeResponse, DeleteNodeResponse__Output as _gantry_v1_DeleteNodeResponse__Output } from '../../gantry/v1/DeleteNodeResponse';
import type { ExplainJobResponse as _gantry_v1_ExplainJobResponse, ExplainJobResponse__Output as _gantry_v1_ExplainJobResponse__Output } from '../../gantry/v1/ExplainJobResponse';
import type { GetClusterUsageRequest as _gantry_v1_GetClusterUsageRequest, GetClusterUsageRequest__Output as _gantry_v1_GetClusterUsageRequest__Output } from '../../gantry/v1/GetClusterUsageRequest';
import type { GetControlPlaneRequest as _gantry_v1_GetControlPlaneRequest, GetControlPlaneRequest__Output as _gantry_v1_GetControlPlaneRequest__Output } from '../../gantry/v1/GetControlPlaneRequest';
import type { GetJobRequest as _gantry_v1_GetJobRequest, GetJobRequest__Output as _gantry_v1_GetJobRequest__Output } from '../../gantry/v1/GetJobRequest';
import type { GetNodeRequest as _gantry_v1_GetNodeRequest, GetNodeRequest__Output as _gantry_v1_GetNodeRequest__Output } from '../../gantry/v1/GetNodeRequest';
import type { GetTopologyRequest as _gantry_v1_GetTopologyRequest, GetTopologyRequest__Output as _gantry_v1_GetTopologyRequest__Output } from '../../gantry/v1/GetTopologyRequest';
import type { GetUsageRequest as _gantry_v1_GetUsageRequest, GetUsageRequest__Output as _gantry_v1_GetUsageRequest__Output } from '../../gantry/v1/GetUsageRequest';
import type { GetUsageResponse as _gantry_v1_GetUsageResponse, GetUsageResponse__Output as _gantry_v1_GetUsageResponse__Output } from '../../gantry/v1/GetUsageResponse';
import type { Job as _gantry_v1_Job, Job__Output as _gantry_v1_Job__Output } from '../../gantry/v1/Job';
import type { ListJobsRequest as _gantry_v1_ListJobsRequest, ListJobsRequest__Output as _gantry_v1_ListJobsRequest__Output } from '../../gantry/v1/ListJobsRequest';
import type { ListJobsResponse as _gantry_v1_ListJobsResponse, ListJobsResponse__Output as _gantry_v1_ListJobsResponse__Output } from '../../gantry/v1/ListJobsResponse';
import type { ListNodesRequest as _gantry_v1_ListNodesRequest, ListNodesRequest__Output as _gantry_v1_ListNodesRequest__Output } from '../../gantry/v1/ListNodesRequest';
import type { ListNodesResponse as _gantry_v1_ListNodesResponse, ListNodesResponse__Output as _gantry_v1_ListNodesResponse__Output } from '../../gantry/v1/ListNodesResponse';
import type { Node as _gantry_v1_Node, Node__Output as _gantry_v1_Node__Output } from '../../gantry/v1/Node';
import type { NodeActionRequest as _gantry_v1_NodeActionRequest, NodeActionRequest__Output as _gantry_v1_NodeActionRequest__Output } from '../../gantry/v1/NodeActionRequest';
import type { ReadLogsRequest as _gantry_v1_ReadLogsRequest, ReadLogsRequest__Output as _gantry_v1_ReadLogsRequest__Output } from '../../gantry/v1/ReadLogsRequest';
import type { ReadLogsResponse as _gantry_v1_ReadLogsResponse, ReadLogsResponse__Output as _gantry_v1_ReadLogsResponse__Output } from '../../gantry/v1/ReadLogsResponse';
import type { ReleaseJobRequest as _gantry_v1_ReleaseJobRequest, ReleaseJobRequest__Output as _gantry_v1_ReleaseJobRequest__Output } from '../../gantry/v1/ReleaseJobRequest';
import type { SubmitJobRequest as _gantry_v1_SubmitJobRequest, SubmitJobRequest__Output as _gantry_v1_SubmitJobRequest__Output } from '../../gantry/v1/SubmitJobRequest';
import type { WatchEventsRequest as _gantry_v1_WatchEventsRequest, WatchEventsRequest__Output as _gantry_v1_WatchEventsRequest__Output } from '../../gantry/v1/WatchEventsRequest';
import type { WatchEventsResponse as _gantry_v1_WatchEventsResponse, WatchEventsResponse__Output as _gantry_v1_WatchEventsResponse__Output } from '../../gantry/v1/WatchEventsResponse';
import type { WhoAmIRequest as _gantry_v1_WhoAmIRequest, WhoAmIRequest__Output as _gantry_v1_WhoAmIRequest__Output } from '../../gantry/v1/WhoAmIRequest';
import type { WhoAmIResponse as _gantry_v1_WhoAmIResponse, WhoAmIResponse__Output as _gantry_v1_WhoAmIResponse__Output } from '../../gantry/v1/WhoAmIResponse';

export interface SchedulerServiceClient extends grpc.Client {
  ApproveNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  ApproveNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  ApproveNode(argument: _gantry_v1_NodeActionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  ApproveNode(argument: _gantry_v1_NodeActionRequest, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  approveNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  approveNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  approveNode(argument: _gantry_v1_NodeActionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  approveNode(argument: _gantry_v1_NodeActionRequest, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  
  CancelJob(argument: _gantry_v1_CancelJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _gantry_v1_CancelJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _gantry_v1_CancelJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _gantry_v1_CancelJobRequest, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _gantry_v1_CancelJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _gantry_v1_CancelJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _gantry_v1_CancelJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _gantry_v1_CancelJobRequest, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  
  CordonNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  CordonNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  CordonNode(argument: _gantry_v1_NodeActionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  CordonNode(argument: _gantry_v1_NodeActionRequest, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  cordonNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  cordonNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  cordonNode(argument: _gantry_v1_NodeActionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  cordonNode(argument: _gantry_v1_NodeActionRequest, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  
  DeleteNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_DeleteNodeResponse__Output>): grpc.ClientUnaryCall;
  DeleteNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_DeleteNodeResponse__Output>): grpc.ClientUnaryCall;
  DeleteNode(argument: _gantry_v1_NodeActionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_DeleteNodeResponse__Output>): grpc.ClientUnaryCall;
  DeleteNode(argument: _gantry_v1_NodeActionRequest, callback: grpc.requestCallback<_gantry_v1_DeleteNodeResponse__Output>): grpc.ClientUnaryCall;
  deleteNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_DeleteNodeResponse__Output>): grpc.ClientUnaryCall;
  deleteNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_DeleteNodeResponse__Output>): grpc.ClientUnaryCall;
  deleteNode(argument: _gantry_v1_NodeActionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_DeleteNodeResponse__Output>): grpc.ClientUnaryCall;
  deleteNode(argument: _gantry_v1_NodeActionRequest, callback: grpc.requestCallback<_gantry_v1_DeleteNodeResponse__Output>): grpc.ClientUnaryCall;
  
  DrainNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  DrainNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  DrainNode(argument: _gantry_v1_NodeActionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  DrainNode(argument: _gantry_v1_NodeActionRequest, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  drainNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  drainNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  drainNode(argument: _gantry_v1_NodeActionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  drainNode(argument: _gantry_v1_NodeActionRequest, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  
  ExplainJob(argument: _gantry_v1_GetJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ExplainJobResponse__Output>): grpc.ClientUnaryCall;
  ExplainJob(argument: _gantry_v1_GetJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_ExplainJobResponse__Output>): grpc.ClientUnaryCall;
  ExplainJob(argument: _gantry_v1_GetJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ExplainJobResponse__Output>): grpc.ClientUnaryCall;
  ExplainJob(argument: _gantry_v1_GetJobRequest, callback: grpc.requestCallback<_gantry_v1_ExplainJobResponse__Output>): grpc.ClientUnaryCall;
  explainJob(argument: _gantry_v1_GetJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ExplainJobResponse__Output>): grpc.ClientUnaryCall;
  explainJob(argument: _gantry_v1_GetJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_ExplainJobResponse__Output>): grpc.ClientUnaryCall;
  explainJob(argument: _gantry_v1_GetJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ExplainJobResponse__Output>): grpc.ClientUnaryCall;
  explainJob(argument: _gantry_v1_GetJobRequest, callback: grpc.requestCallback<_gantry_v1_ExplainJobResponse__Output>): grpc.ClientUnaryCall;
  
  GetClusterUsage(argument: _gantry_v1_GetClusterUsageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ClusterUsage__Output>): grpc.ClientUnaryCall;
  GetClusterUsage(argument: _gantry_v1_GetClusterUsageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_ClusterUsage__Output>): grpc.ClientUnaryCall;
  GetClusterUsage(argument: _gantry_v1_GetClusterUsageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ClusterUsage__Output>): grpc.ClientUnaryCall;
  GetClusterUsage(argument: _gantry_v1_GetClusterUsageRequest, callback: grpc.requestCallback<_gantry_v1_ClusterUsage__Output>): grpc.ClientUnaryCall;
  getClusterUsage(argument: _gantry_v1_GetClusterUsageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ClusterUsage__Output>): grpc.ClientUnaryCall;
  getClusterUsage(argument: _gantry_v1_GetClusterUsageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_ClusterUsage__Output>): grpc.ClientUnaryCall;
  getClusterUsage(argument: _gantry_v1_GetClusterUsageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ClusterUsage__Output>): grpc.ClientUnaryCall;
  getClusterUsage(argument: _gantry_v1_GetClusterUsageRequest, callback: grpc.requestCallback<_gantry_v1_ClusterUsage__Output>): grpc.ClientUnaryCall;
  
  GetControlPlane(argument: _gantry_v1_GetControlPlaneRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ControlPlaneMember__Output>): grpc.ClientUnaryCall;
  GetControlPlane(argument: _gantry_v1_GetControlPlaneRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_ControlPlaneMember__Output>): grpc.ClientUnaryCall;
  GetControlPlane(argument: _gantry_v1_GetControlPlaneRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ControlPlaneMember__Output>): grpc.ClientUnaryCall;
  GetControlPlane(argument: _gantry_v1_GetControlPlaneRequest, callback: grpc.requestCallback<_gantry_v1_ControlPlaneMember__Output>): grpc.ClientUnaryCall;
  getControlPlane(argument: _gantry_v1_GetControlPlaneRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ControlPlaneMember__Output>): grpc.ClientUnaryCall;
  getControlPlane(argument: _gantry_v1_GetControlPlaneRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_ControlPlaneMember__Output>): grpc.ClientUnaryCall;
  getControlPlane(argument: _gantry_v1_GetControlPlaneRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ControlPlaneMember__Output>): grpc.ClientUnaryCall;
  getControlPlane(argument: _gantry_v1_GetControlPlaneRequest, callback: grpc.requestCallback<_gantry_v1_ControlPlaneMember__Output>): grpc.ClientUnaryCall;
  
  GetJob(argument: _gantry_v1_GetJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _gantry_v1_GetJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _gantry_v1_GetJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _gantry_v1_GetJobRequest, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  getJob(argument: _gantry_v1_GetJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  getJob(argument: _gantry_v1_GetJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  getJob(argument: _gantry_v1_GetJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  getJob(argument: _gantry_v1_GetJobRequest, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  
  GetNode(argument: _gantry_v1_GetNodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  GetNode(argument: _gantry_v1_GetNodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  GetNode(argument: _gantry_v1_GetNodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  GetNode(argument: _gantry_v1_GetNodeRequest, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  getNode(argument: _gantry_v1_GetNodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  getNode(argument: _gantry_v1_GetNodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  getNode(argument: _gantry_v1_GetNodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  getNode(argument: _gantry_v1_GetNodeRequest, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  
  GetTopology(argument: _gantry_v1_GetTopologyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ClusterTopology__Output>): grpc.ClientUnaryCall;
  GetTopology(argument: _gantry_v1_GetTopologyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_ClusterTopology__Output>): grpc.ClientUnaryCall;
  GetTopology(argument: _gantry_v1_GetTopologyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ClusterTopology__Output>): grpc.ClientUnaryCall;
  GetTopology(argument: _gantry_v1_GetTopologyRequest, callback: grpc.requestCallback<_gantry_v1_ClusterTopology__Output>): grpc.ClientUnaryCall;
  getTopology(argument: _gantry_v1_GetTopologyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ClusterTopology__Output>): grpc.ClientUnaryCall;
  getTopology(argument: _gantry_v1_GetTopologyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_ClusterTopology__Output>): grpc.ClientUnaryCall;
  getTopology(argument: _gantry_v1_GetTopologyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ClusterTopology__Output>): grpc.ClientUnaryCall;
  getTopology(argument: _gantry_v1_GetTopologyRequest, callback: grpc.requestCallback<_gantry_v1_ClusterTopology__Output>): grpc.ClientUnaryCall;
  
  GetUsage(argument: _gantry_v1_GetUsageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_GetUsageResponse__Output>): grpc.ClientUnaryCall;
  GetUsage(argument: _gantry_v1_GetUsageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_GetUsageResponse__Output>): grpc.ClientUnaryCall;
  GetUsage(argument: _gantry_v1_GetUsageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_GetUsageResponse__Output>): grpc.ClientUnaryCall;
  GetUsage(argument: _gantry_v1_GetUsageRequest, callback: grpc.requestCallback<_gantry_v1_GetUsageResponse__Output>): grpc.ClientUnaryCall;
  getUsage(argument: _gantry_v1_GetUsageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_GetUsageResponse__Output>): grpc.ClientUnaryCall;
  getUsage(argument: _gantry_v1_GetUsageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_GetUsageResponse__Output>): grpc.ClientUnaryCall;
  getUsage(argument: _gantry_v1_GetUsageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_GetUsageResponse__Output>): grpc.ClientUnaryCall;
  getUsage(argument: _gantry_v1_GetUsageRequest, callback: grpc.requestCallback<_gantry_v1_GetUsageResponse__Output>): grpc.ClientUnaryCall;
  
  ListJobs(argument: _gantry_v1_ListJobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _gantry_v1_ListJobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _gantry_v1_ListJobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _gantry_v1_ListJobsRequest, callback: grpc.requestCallback<_gantry_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _gantry_v1_ListJobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _gantry_v1_ListJobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _gantry_v1_ListJobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _gantry_v1_ListJobsRequest, callback: grpc.requestCallback<_gantry_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  
  ListNodes(argument: _gantry_v1_ListNodesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  ListNodes(argument: _gantry_v1_ListNodesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  ListNodes(argument: _gantry_v1_ListNodesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  ListNodes(argument: _gantry_v1_ListNodesRequest, callback: grpc.requestCallback<_gantry_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  listNodes(argument: _gantry_v1_ListNodesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  listNodes(argument: _gantry_v1_ListNodesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  listNodes(argument: _gantry_v1_ListNodesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  listNodes(argument: _gantry_v1_ListNodesRequest, callback: grpc.requestCallback<_gantry_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  
  ReadLogs(argument: _gantry_v1_ReadLogsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ReadLogsResponse__Output>): grpc.ClientUnaryCall;
  ReadLogs(argument: _gantry_v1_ReadLogsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_ReadLogsResponse__Output>): grpc.ClientUnaryCall;
  ReadLogs(argument: _gantry_v1_ReadLogsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ReadLogsResponse__Output>): grpc.ClientUnaryCall;
  ReadLogs(argument: _gantry_v1_ReadLogsRequest, callback: grpc.requestCallback<_gantry_v1_ReadLogsResponse__Output>): grpc.ClientUnaryCall;
  readLogs(argument: _gantry_v1_ReadLogsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ReadLogsResponse__Output>): grpc.ClientUnaryCall;
  readLogs(argument: _gantry_v1_ReadLogsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_ReadLogsResponse__Output>): grpc.ClientUnaryCall;
  readLogs(argument: _gantry_v1_ReadLogsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ReadLogsResponse__Output>): grpc.ClientUnaryCall;
  readLogs(argument: _gantry_v1_ReadLogsRequest, callback: grpc.requestCallback<_gantry_v1_ReadLogsResponse__Output>): grpc.ClientUnaryCall;
  
  ReleaseJob(argument: _gantry_v1_ReleaseJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  ReleaseJob(argument: _gantry_v1_ReleaseJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  ReleaseJob(argument: _gantry_v1_ReleaseJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  ReleaseJob(argument: _gantry_v1_ReleaseJobRequest, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  releaseJob(argument: _gantry_v1_ReleaseJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  releaseJob(argument: _gantry_v1_ReleaseJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  releaseJob(argument: _gantry_v1_ReleaseJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  releaseJob(argument: _gantry_v1_ReleaseJobRequest, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  
  SubmitJob(argument: _gantry_v1_SubmitJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  SubmitJob(argument: _gantry_v1_SubmitJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  SubmitJob(argument: _gantry_v1_SubmitJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  SubmitJob(argument: _gantry_v1_SubmitJobRequest, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _gantry_v1_SubmitJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _gantry_v1_SubmitJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _gantry_v1_SubmitJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _gantry_v1_SubmitJobRequest, callback: grpc.requestCallback<_gantry_v1_Job__Output>): grpc.ClientUnaryCall;
  
  UncordonNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  UncordonNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  UncordonNode(argument: _gantry_v1_NodeActionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  UncordonNode(argument: _gantry_v1_NodeActionRequest, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  uncordonNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  uncordonNode(argument: _gantry_v1_NodeActionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  uncordonNode(argument: _gantry_v1_NodeActionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  uncordonNode(argument: _gantry_v1_NodeActionRequest, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  
  WatchEvents(argument: _gantry_v1_WatchEventsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gantry_v1_WatchEventsResponse__Output>;
  WatchEvents(argument: _gantry_v1_WatchEventsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gantry_v1_WatchEventsResponse__Output>;
  watchEvents(argument: _gantry_v1_WatchEventsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gantry_v1_WatchEventsResponse__Output>;
  watchEvents(argument: _gantry_v1_WatchEventsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gantry_v1_WatchEventsResponse__Output>;
  
  WhoAmI(argument: _gantry_v1_WhoAmIRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _gantry_v1_WhoAmIRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _gantry_v1_WhoAmIRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _gantry_v1_WhoAmIRequest, callback: grpc.requestCallback<_gantry_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _gantry_v1_WhoAmIRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _gantry_v1_WhoAmIRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _gantry_v1_WhoAmIRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _gantry_v1_WhoAmIRequest, callback: grpc.requestCallback<_gantry_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface SchedulerServiceHandlers extends grpc.UntypedServiceImplementation {
  ApproveNode: grpc.handleUnaryCall<_gantry_v1_NodeActionRequest__Output, _gantry_v1_Node>;
  
  CancelJob: grpc.handleUnaryCall<_gantry_v1_CancelJobRequest__Output, _gantry_v1_Job>;
  
  CordonNode: grpc.handleUnaryCall<_gantry_v1_NodeActionRequest__Output, _gantry_v1_Node>;
  
  DeleteNode: grpc.handleUnaryCall<_gantry_v1_NodeActionRequest__Output, _gantry_v1_DeleteNodeResponse>;
  
  DrainNode: grpc.handleUnaryCall<_gantry_v1_NodeActionRequest__Output, _gantry_v1_Node>;
  
  ExplainJob: grpc.handleUnaryCall<_gantry_v1_GetJobRequest__Output, _gantry_v1_ExplainJobResponse>;
  
  GetClusterUsage: grpc.handleUnaryCall<_gantry_v1_GetClusterUsageRequest__Output, _gantry_v1_ClusterUsage>;
  
  GetControlPlane: grpc.handleUnaryCall<_gantry_v1_GetControlPlaneRequest__Output, _gantry_v1_ControlPlaneMember>;
  
  GetJob: grpc.handleUnaryCall<_gantry_v1_GetJobRequest__Output, _gantry_v1_Job>;
  
  GetNode: grpc.handleUnaryCall<_gantry_v1_GetNodeRequest__Output, _gantry_v1_Node>;
  
  GetTopology: grpc.handleUnaryCall<_gantry_v1_GetTopologyRequest__Output, _gantry_v1_ClusterTopology>;
  
  GetUsage: grpc.handleUnaryCall<_gantry_v1_GetUsageRequest__Output, _gantry_v1_GetUsageResponse>;
  
  ListJobs: grpc.handleUnaryCall<_gantry_v1_ListJobsRequest__Output, _gantry_v1_ListJobsResponse>;
  
  ListNodes: grpc.handleUnaryCall<_gantry_v1_ListNodesRequest__Output, _gantry_v1_ListNodesResponse>;
  
  ReadLogs: grpc.handleUnaryCall<_gantry_v1_ReadLogsRequest__Output, _gantry_v1_ReadLogsResponse>;
  
  ReleaseJob: grpc.handleUnaryCall<_gantry_v1_ReleaseJobRequest__Output, _gantry_v1_Job>;
  
  SubmitJob: grpc.handleUnaryCall<_gantry_v1_SubmitJobRequest__Output, _gantry_v1_Job>;
  
  UncordonNode: grpc.handleUnaryCall<_gantry_v1_NodeActionRequest__Output, _gantry_v1_Node>;
  
  WatchEvents: grpc.handleServerStreamingCall<_gantry_v1_WatchEventsRequest__Output, _gantry_v1_WatchEventsResponse>;
  
  WhoAmI: grpc.handleUnaryCall<_gantry_v1_WhoAmIRequest__Output, _gantry_v1_WhoAmIResponse>;
  
}

export interface SchedulerServiceDefinition extends grpc.ServiceDefinition {
  ApproveNode: MethodDefinition<_gantry_v1_NodeActionRequest, _gantry_v1_Node, _gantry_v1_NodeActionRequest__Output, _gantry_v1_Node__Output>
  CancelJob: MethodDefinition<_gantry_v1_CancelJobRequest, _gantry_v1_Job, _gantry_v1_CancelJobRequest__Output, _gantry_v1_Job__Output>
  CordonNode: MethodDefinition<_gantry_v1_NodeActionRequest, _gantry_v1_Node, _gantry_v1_NodeActionRequest__Output, _gantry_v1_Node__Output>
  DeleteNode: MethodDefinition<_gantry_v1_NodeActionRequest, _gantry_v1_DeleteNodeResponse, _gantry_v1_NodeActionRequest__Output, _gantry_v1_DeleteNodeResponse__Output>
  DrainNode: MethodDefinition<_gantry_v1_NodeActionRequest, _gantry_v1_Node, _gantry_v1_NodeActionRequest__Output, _gantry_v1_Node__Output>
  ExplainJob: MethodDefinition<_gantry_v1_GetJobRequest, _gantry_v1_ExplainJobResponse, _gantry_v1_GetJobRequest__Output, _gantry_v1_ExplainJobResponse__Output>
  GetClusterUsage: MethodDefinition<_gantry_v1_GetClusterUsageRequest, _gantry_v1_ClusterUsage, _gantry_v1_GetClusterUsageRequest__Output, _gantry_v1_ClusterUsage__Output>
  GetControlPlane: MethodDefinition<_gantry_v1_GetControlPlaneRequest, _gantry_v1_ControlPlaneMember, _gantry_v1_GetControlPlaneRequest__Output, _gantry_v1_ControlPlaneMember__Output>
  GetJob: MethodDefinition<_gantry_v1_GetJobRequest, _gantry_v1_Job, _gantry_v1_GetJobRequest__Output, _gantry_v1_Job__Output>
  GetNode: MethodDefinition<_gantry_v1_GetNodeRequest, _gantry_v1_Node, _gantry_v1_GetNodeRequest__Output, _gantry_v1_Node__Output>
  GetTopology: MethodDefinition<_gantry_v1_GetTopologyRequest, _gantry_v1_ClusterTopology, _gantry_v1_GetTopologyRequest__Output, _gantry_v1_ClusterTopology__Output>
  GetUsage: MethodDefinition<_gantry_v1_GetUsageRequest, _gantry_v1_GetUsageResponse, _gantry_v1_GetUsageRequest__Output, _gantry_v1_GetUsageResponse__Output>
  ListJobs: MethodDefinition<_gantry_v1_ListJobsRequest, _gantry_v1_ListJobsResponse, _gantry_v1_ListJobsRequest__Output, _gantry_v1_ListJobsResponse__Output>
  ListNodes: MethodDefinition<_gantry_v1_ListNodesRequest, _gantry_v1_ListNodesResponse, _gantry_v1_ListNodesRequest__Output, _gantry_v1_ListNodesResponse__Output>
  ReadLogs: MethodDefinition<_gantry_v1_ReadLogsRequest, _gantry_v1_ReadLogsResponse, _gantry_v1_ReadLogsRequest__Output, _gantry_v1_ReadLogsResponse__Output>
  ReleaseJob: MethodDefinition<_gantry_v1_ReleaseJobRequest, _gantry_v1_Job, _gantry_v1_ReleaseJobRequest__Output, _gantry_v1_Job__Output>
  SubmitJob: MethodDefinition<_gantry_v1_SubmitJobRequest, _gantry_v1_Job, _gantry_v1_SubmitJobRequest__Output, _gantry_v1_Job__Output>
  UncordonNode: MethodDefinition<_gantry_v1_NodeActionRequest, _gantry_v1_Node, _gantry_v1_NodeActionRequest__Output, _gantry_v1_Node__Output>
  WatchEvents: MethodDefinition<_gantry_v1_WatchEventsRequest, _gantry_v1_WatchEventsResponse, _gantry_v1_WatchEventsRequest__Output, _gantry_v1_WatchEventsResponse__Output>
  WhoAmI: MethodDefinition<_gantry_v1_WhoAmIRequest, _gantry_v1_WhoAmIResponse, _gantry_v1_WhoAmIRequest__Output, _gantry_v1_WhoAmIResponse__Output>
}
