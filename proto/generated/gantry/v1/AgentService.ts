// Original file: proto/gantry/v1/agent.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AgentMessage as _gantry_v1_AgentMessage, AgentMessage__Output as _gantry_v1_AgentMessage__Output } from '../../gantry/v1/AgentMessage';
import type { SchedulerMessage as _gantry_v1_SchedulerMessage, SchedulerMessage__Output as _gantry_v1_SchedulerMessage__Output } from '../../gantry/v1/SchedulerMessage';

export interface AgentServiceClient extends grpc.Client {
  Connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_gantry_v1_AgentMessage, _gantry_v1_SchedulerMessage__Output>;
  Connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_gantry_v1_AgentMessage, _gantry_v1_SchedulerMessage__Output>;
  connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_gantry_v1_AgentMessage, _gantry_v1_SchedulerMessage__Output>;
  connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_gantry_v1_AgentMessage, _gantry_v1_SchedulerMessage__Output>;
  
}

export interface AgentServiceHandlers extends grpc.UntypedServiceImplementation {
  Connect: grpc.handleBidiStreamingCall<_gantry_v1_AgentMessage__Output, _gantry_v1_SchedulerMessage>;
  
}

export interface AgentServiceDefinition extends grpc.ServiceDefinition {
  Connect: MethodDefinition<_gantry_v1_AgentMessage, _gantry_v1_SchedulerMessage, _gantry_v1_AgentMessage__Output, _gantry_v1_SchedulerMessage__Output>
}
