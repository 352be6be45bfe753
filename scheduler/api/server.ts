import * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatusMap } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import type { HostPort, ServerTlsOptions } from '../../shared/config/index.js';
import { loadGantryProto } from '../../shared/proto/index.js';
import type { AgentServiceHandlers, SchedulerServiceHandlers } from '../../shared/proto/index.js';
import { ServerTlsMaterial } from '../auth/index.js';
import { refuseUndecodable } from './decode.js';

export const SERVICE_NAMES = ['gantry.v1.AgentService', 'gantry.v1.SchedulerService'] as const;

/**
 * The server's TLS material from config, read and checked now (ConfigError naming the key), or
 * null for plaintext (insecure). Its reload() serves renewed files to new handshakes (SIGHUP).
 */
export function serverTls(insecure: boolean, tls: ServerTlsOptions, keyPrefix: string): ServerTlsMaterial | null {
  return insecure ? null : new ServerTlsMaterial(tls, keyPrefix);
}

/** Server credentials from config: plaintext (insecure), TLS, or mTLS (requireClientCert). */
export function serverCredentials(insecure: boolean, tls: ServerTlsOptions, keyPrefix: string): grpc.ServerCredentials {
  return serverTls(insecure, tls, keyPrefix)?.credentials() ?? grpc.ServerCredentials.createInsecure();
}

export interface GrpcServer {
  server: grpc.Server;
  port: number;
  health: HealthImplementation;
}

export async function startGrpcServer(opts: {
  listen: HostPort;
  credentials: grpc.ServerCredentials;
  /** Largest request read (grpc.maxReceiveMessageBytes; grpc-js's default 4 MiB when absent). */
  maxReceiveMessageBytes?: number;
  /** Largest response sent (grpc.maxSendMessageBytes; unlimited when absent). */
  maxSendMessageBytes?: number;
  /** Close a connection with no call open this long (grpc.maxConnectionIdleMs; never when absent). */
  maxConnectionIdleMs?: number;
  agent: AgentServiceHandlers;
  scheduler: SchedulerServiceHandlers;
}): Promise<GrpcServer> {
  const { definition, proto } = loadGantryProto();
  const server = new grpc.Server({
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_permit_without_calls': 1,
    ...(opts.maxReceiveMessageBytes !== undefined ? { 'grpc.max_receive_message_length': opts.maxReceiveMessageBytes } : {}),
    ...(opts.maxSendMessageBytes !== undefined ? { 'grpc.max_send_message_length': opts.maxSendMessageBytes } : {}),
    ...(opts.maxConnectionIdleMs !== undefined ? { 'grpc.max_connection_idle_ms': opts.maxConnectionIdleMs } : {}),
  });
  // An undecodable request is INVALID_ARGUMENT, not grpc-js's INTERNAL (api/decode.ts); Connect checks each message.
  const agent = refuseUndecodable(proto.gantry.v1.AgentService.service, opts.agent);
  server.addService(agent.service, agent.handlers);
  const scheduler = refuseUndecodable(proto.gantry.v1.SchedulerService.service, opts.scheduler);
  server.addService(scheduler.service, scheduler.handlers);
  const statusMap: ServingStatusMap = { '': 'NOT_SERVING' };
  for (const s of SERVICE_NAMES) statusMap[s] = 'NOT_SERVING';
  const health = new HealthImplementation(statusMap);
  health.addToServer(server);
  new ReflectionService(definition).addToServer(server);
  const host = opts.listen.host.includes(':') ? `[${opts.listen.host}]` : opts.listen.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${opts.listen.port}`, opts.credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port, health };
}
