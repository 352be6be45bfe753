import * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatusMap } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import { readTlsFiles, type HostPort, type ServerTlsOptions } from '../../shared/config/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import { loadGantryProto } from '../../shared/proto/index.js';
import type { AgentServiceHandlers, SchedulerServiceHandlers } from '../../shared/proto/index.js';

export const SERVICE_NAMES = ['gantry.v1.AgentService', 'gantry.v1.SchedulerService'] as const;

/**
 * TLS that asks every client for a certificate and verifies one against the CA when it comes, but
 * lets a client without one finish the handshake (a bearer-token user). grpc-js reports a peer
 * certificate (getAuthContext) only when it verified, so an unverified one names nobody.
 * createSsl cannot say this: it requests client certificates only when it also requires them.
 */
class ClientCertIfPresentCredentials extends grpc.ServerCredentials {
  constructor(ca: Buffer, cert: Buffer, key: Buffer) {
    super({ requestCert: true, rejectUnauthorized: false }, { ca, cert, key });
  }
  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * Server credentials from config: plaintext (insecure); TLS; with caFile, client certificates
 * verified when presented (node and user identities); with requireClientCert, required (mTLS).
 */
export function serverCredentials(insecure: boolean, tls: ServerTlsOptions, keyPrefix: string): grpc.ServerCredentials {
  if (insecure) return grpc.ServerCredentials.createInsecure();
  if (!tls.certFile) throw new ConfigError(`${keyPrefix}.certFile`, 'is required unless grpc.insecure is true');
  if (!tls.keyFile) throw new ConfigError(`${keyPrefix}.keyFile`, 'is required unless grpc.insecure is true');
  if (tls.requireClientCert && !tls.caFile) throw new ConfigError(`${keyPrefix}.caFile`, 'is required to verify client certificates');
  const files = readTlsFiles(tls, keyPrefix);
  if (files.ca && !tls.requireClientCert) return new ClientCertIfPresentCredentials(files.ca, files.cert!, files.key!);
  return grpc.ServerCredentials.createSsl(files.ca, [{ cert_chain: files.cert!, private_key: files.key! }], tls.requireClientCert);
}

export interface GrpcServer {
  server: grpc.Server;
  port: number;
  health: HealthImplementation;
}

export async function startGrpcServer(opts: {
  listen: HostPort;
  credentials: grpc.ServerCredentials;
  agent: AgentServiceHandlers;
  scheduler: SchedulerServiceHandlers;
}): Promise<GrpcServer> {
  const { definition, proto } = loadGantryProto();
  const server = new grpc.Server({ 'grpc.keepalive_time_ms': 30_000, 'grpc.keepalive_permit_without_calls': 1 });
  server.addService(proto.gantry.v1.AgentService.service, opts.agent);
  server.addService(proto.gantry.v1.SchedulerService.service, opts.scheduler);
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
