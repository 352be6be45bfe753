/**
 * Loads gantry.v1 at run time with @grpc/proto-loader, using proto/loader-options.json, the same
 * options scripts/gen-proto.mjs gives proto-loader-gen-types, so generated types match the runtime.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as AgentProto } from '../../proto/generated/agent.js';
import type { ProtoGrpcType as SchedulerProto } from '../../proto/generated/scheduler.js';

/** The repository (or installed package) root: the first ancestor holding proto/gantry/v1. */
function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'proto', 'gantry', 'v1', 'agent.proto'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find proto/gantry/v1 above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export const PROTO_ROOT = path.join(findRoot(), 'proto');
export const PROTO_FILES = ['gantry/v1/agent.proto', 'gantry/v1/scheduler.proto', 'gantry/v1/types.proto'];

interface LoaderOptionsFile {
  keepCase: boolean;
  longs: 'Number' | 'String';
  enums: 'String';
  defaults: boolean;
  oneofs: boolean;
  includeDirs: string[];
}

export function loaderOptions(): protoLoader.Options {
  const raw = JSON.parse(readFileSync(path.join(PROTO_ROOT, 'loader-options.json'), 'utf8')) as LoaderOptionsFile;
  return {
    keepCase: raw.keepCase,
    longs: raw.longs === 'Number' ? Number : String,
    enums: String,
    defaults: raw.defaults,
    oneofs: raw.oneofs,
    includeDirs: [PROTO_ROOT],
  };
}

export type GantryProto = AgentProto & SchedulerProto;

let cached: { definition: protoLoader.PackageDefinition; proto: GantryProto } | undefined;

/** The package definition (for reflection) and the loaded gantry.v1 package, loaded once per process. */
export function loadGantryProto(): { definition: protoLoader.PackageDefinition; proto: GantryProto } {
  if (!cached) {
    const definition = protoLoader.loadSync(PROTO_FILES, loaderOptions());
    const proto = grpc.loadPackageDefinition(definition) as unknown as GantryProto;
    cached = { definition, proto };
  }
  return cached;
}
