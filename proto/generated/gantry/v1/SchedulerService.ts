// Original file: proto/gantry/v1/scheduler.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { GetNodeRequest as _gantry_v1_GetNodeRequest, GetNodeRequest__Output as _gantry_v1_GetNodeRequest__Output } from '../../gantry/v1/GetNodeRequest';
import type { ListNodesRequest as _gantry_v1_ListNodesRequest, ListNodesRequest__Output as _gantry_v1_ListNodesRequest__Output } from '../../gantry/v1/ListNodesRequest';
import type { ListNodesResponse as _gantry_v1_ListNodesResponse, ListNodesResponse__Output as _gantry_v1_ListNodesResponse__Output } from '../../gantry/v1/ListNodesResponse';
import type { Node as _gantry_v1_Node, Node__Output as _gantry_v1_Node__Output } from '../../gantry/v1/Node';

export interface SchedulerServiceClient extends grpc.Client {
  GetNode(argument: _gantry_v1_GetNodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  GetNode(argument: _gantry_v1_GetNodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  GetNode(argument: _gantry_v1_GetNodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  GetNode(argument: _gantry_v1_GetNodeRequest, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  getNode(argument: _gantry_v1_GetNodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  getNode(argument: _gantry_v1_GetNodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  getNode(argument: _gantry_v1_GetNodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  getNode(argument: _gantry_v1_GetNodeRequest, callback: grpc.requestCallback<_gantry_v1_Node__Output>): grpc.ClientUnaryCall;
  
  ListNodes(argument: _gantry_v1_ListNodesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  ListNodes(argument: _gantry_v1_ListNodesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  ListNodes(argument: _gantry_v1_ListNodesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  ListNodes(argument: _gantry_v1_ListNodesRequest, callback: grpc.requestCallback<_gantry_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  listNodes(argument: _gantry_v1_ListNodesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  listNodes(argument: _gantry_v1_ListNodesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gantry_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  listNodes(argument: _gantry_v1_ListNodesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gantry_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  listNodes(argument: _gantry_v1_ListNodesRequest, callback: grpc.requestCallback<_gantry_v1_ListNodesResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface SchedulerServiceHandlers extends grpc.UntypedServiceImplementation {
  GetNode: grpc.handleUnaryCall<_gantry_v1_GetNodeRequest__Output, _gantry_v1_Node>;
  
  ListNodes: grpc.handleUnaryCall<_gantry_v1_ListNodesRequest__Output, _gantry_v1_ListNodesResponse>;
  
}

export interface SchedulerServiceDefinition extends grpc.ServiceDefinition {
  GetNode: MethodDefinition<_gantry_v1_GetNodeRequest, _gantry_v1_Node, _gantry_v1_GetNodeRequest__Output, _gantry_v1_Node__Output>
  ListNodes: MethodDefinition<_gantry_v1_ListNodesRequest, _gantry_v1_ListNodesResponse, _gantry_v1_ListNodesRequest__Output, _gantry_v1_ListNodesResponse__Output>
}
