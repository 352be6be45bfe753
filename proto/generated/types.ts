import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Fabric as _gantry_v1_Fabric, Fabric__Output as _gantry_v1_Fabric__Output } from './gantry/v1/Fabric';
import type { Firmware as _gantry_v1_Firmware, Firmware__Output as _gantry_v1_Firmware__Output } from './gantry/v1/Firmware';
import type { Gpu as _gantry_v1_Gpu, Gpu__Output as _gantry_v1_Gpu__Output } from './gantry/v1/Gpu';
import type { GpuPlatform as _gantry_v1_GpuPlatform, GpuPlatform__Output as _gantry_v1_GpuPlatform__Output } from './gantry/v1/GpuPlatform';
import type { Hca as _gantry_v1_Hca, Hca__Output as _gantry_v1_Hca__Output } from './gantry/v1/Hca';
import type { HcaPort as _gantry_v1_HcaPort, HcaPort__Output as _gantry_v1_HcaPort__Output } from './gantry/v1/HcaPort';
import type { HealthVerdict as _gantry_v1_HealthVerdict, HealthVerdict__Output as _gantry_v1_HealthVerdict__Output } from './gantry/v1/HealthVerdict';
import type { Host as _gantry_v1_Host, Host__Output as _gantry_v1_Host__Output } from './gantry/v1/Host';
import type { Inventory as _gantry_v1_Inventory, Inventory__Output as _gantry_v1_Inventory__Output } from './gantry/v1/Inventory';
import type { LinkGroup as _gantry_v1_LinkGroup, LinkGroup__Output as _gantry_v1_LinkGroup__Output } from './gantry/v1/LinkGroup';
import type { LinkMatrix as _gantry_v1_LinkMatrix, LinkMatrix__Output as _gantry_v1_LinkMatrix__Output } from './gantry/v1/LinkMatrix';
import type { LinkMatrixRow as _gantry_v1_LinkMatrixRow, LinkMatrixRow__Output as _gantry_v1_LinkMatrixRow__Output } from './gantry/v1/LinkMatrixRow';
import type { MigInstance as _gantry_v1_MigInstance, MigInstance__Output as _gantry_v1_MigInstance__Output } from './gantry/v1/MigInstance';
import type { TaskUsage as _gantry_v1_TaskUsage, TaskUsage__Output as _gantry_v1_TaskUsage__Output } from './gantry/v1/TaskUsage';
import type { Topology as _gantry_v1_Topology, Topology__Output as _gantry_v1_Topology__Output } from './gantry/v1/Topology';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  gantry: {
    v1: {
      Connectivity: EnumTypeDefinition
      Fabric: MessageTypeDefinition<_gantry_v1_Fabric, _gantry_v1_Fabric__Output>
      Firmware: MessageTypeDefinition<_gantry_v1_Firmware, _gantry_v1_Firmware__Output>
      Gpu: MessageTypeDefinition<_gantry_v1_Gpu, _gantry_v1_Gpu__Output>
      GpuPlatform: MessageTypeDefinition<_gantry_v1_GpuPlatform, _gantry_v1_GpuPlatform__Output>
      Hca: MessageTypeDefinition<_gantry_v1_Hca, _gantry_v1_Hca__Output>
      HcaPort: MessageTypeDefinition<_gantry_v1_HcaPort, _gantry_v1_HcaPort__Output>
      HealthVerdict: MessageTypeDefinition<_gantry_v1_HealthVerdict, _gantry_v1_HealthVerdict__Output>
      Host: MessageTypeDefinition<_gantry_v1_Host, _gantry_v1_Host__Output>
      Inventory: MessageTypeDefinition<_gantry_v1_Inventory, _gantry_v1_Inventory__Output>
      LinkGroup: MessageTypeDefinition<_gantry_v1_LinkGroup, _gantry_v1_LinkGroup__Output>
      LinkMatrix: MessageTypeDefinition<_gantry_v1_LinkMatrix, _gantry_v1_LinkMatrix__Output>
      LinkMatrixRow: MessageTypeDefinition<_gantry_v1_LinkMatrixRow, _gantry_v1_LinkMatrixRow__Output>
      MigInstance: MessageTypeDefinition<_gantry_v1_MigInstance, _gantry_v1_MigInstance__Output>
      Schedulability: EnumTypeDefinition
      Severity: EnumTypeDefinition
      TaskUsage: MessageTypeDefinition<_gantry_v1_TaskUsage, _gantry_v1_TaskUsage__Output>
      Topology: MessageTypeDefinition<_gantry_v1_Topology, _gantry_v1_Topology__Output>
    }
  }
}

