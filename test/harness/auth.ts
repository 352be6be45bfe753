/**
 * Identities for tests: a throw-away CA with the scheduler's server certificate, user and node
 * certificates (shared/pki, written to a temp dir), a token issuer's key pair (jose), and gRPC
 * clients that present a certificate or a bearer token over TLS.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import type { Test } from 'tap';
import { createCa, issueCert, type CertificateAuthority } from '../../shared/certgen/index.js';
import { loadGantryProto, type SchedulerServiceClient } from '../../shared/proto/index.js';
import { tempDir } from './cluster.js';

/** A certificate and key, as PEM text and as files. */
export interface CertFiles {
  cert: string;
  key: string;
  serial: string;
  certFile: string;
  keyFile: string;
}

export interface TestPki {
  dir: string;
  ca: CertificateAuthority;
  caFile: string;
  /** The scheduler's certificate for 127.0.0.1 and localhost (server.pem / server-key.pem). */
  server: CertFiles;
  user(name: string, groups?: string[]): Promise<CertFiles>;
  node(name: string): Promise<CertFiles>;
  /** Issues a new server certificate into the same files (as a renewal would), returning it. */
  renewServer(): Promise<CertFiles>;
}

function write(dir: string, base: string, c: { cert: string; key: string; serial: string }): CertFiles {
  const certFile = path.join(dir, `${base}.pem`);
  const keyFile = path.join(dir, `${base}-key.pem`);
  writeFileSync(certFile, c.cert);
  writeFileSync(keyFile, c.key, { mode: 0o600 });
  return { ...c, certFile, keyFile };
}

export async function makePki(t: Test, name = 'gantry-test-ca'): Promise<TestPki> {
  const dir = tempDir(t, 'gantry-pki-');
  const ca = await createCa(name);
  const caFile = path.join(dir, 'ca.pem');
  writeFileSync(caFile, ca.cert);
  const serverCert = (): Promise<{ cert: string; key: string; serial: string }> => issueCert(ca, { kind: 'server', name: 'gantry-scheduler', hosts: ['127.0.0.1', 'localhost'] });
  return {
    dir,
    ca,
    caFile,
    server: write(dir, 'server', await serverCert()),
    user: async (user, groups = []) => write(dir, `user-${user}`, await issueCert(ca, { kind: 'user', user, groups })),
    node: async (node) => write(dir, `node-${node}`, await issueCert(ca, { kind: 'node', node })),
    renewServer: async () => write(dir, 'server', await serverCert()),
  };
}

/** The scheduler's TLS flags for a test PKI (client certificates verified against its CA). */
export function schedulerTlsArgs(pki: TestPki): string[] {
  return ['--set', `grpc.tls.caFile=${pki.caFile}`, '--set', `grpc.tls.certFile=${pki.server.certFile}`, '--set', `grpc.tls.keyFile=${pki.server.keyFile}`];
}

/** The agent's TLS flags: trust the test CA, present the node certificate. */
export function agentTlsArgs(pki: TestPki, node: CertFiles): string[] {
  return ['--set', `scheduler.tls.caFile=${pki.caFile}`, '--set', `scheduler.tls.certFile=${node.certFile}`, '--set', `scheduler.tls.keyFile=${node.keyFile}`];
}

/**
 * A SchedulerService client over TLS trusting the test CA, presenting `as`: a client certificate,
 * a bearer token (sent with every call), or nothing. Its own subchannel, so no connection (and
 * no TLS session) is shared with another client. Closed at the test's end.
 */
export function clientAs(t: Test, address: string, pki: TestPki, as: CertFiles | { token: string } | null): SchedulerServiceClient {
  const { proto } = loadGantryProto();
  const ca = Buffer.from(pki.ca.cert);
  let creds: grpc.ChannelCredentials;
  if (as && 'certFile' in as) {
    creds = grpc.credentials.createSsl(ca, Buffer.from(as.key), Buffer.from(as.cert));
  } else if (as) {
    const bearer = grpc.credentials.createFromMetadataGenerator((_params, cb) => {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${as.token}`);
      cb(null, md);
    });
    creds = grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(ca), bearer);
  } else {
    creds = grpc.credentials.createSsl(ca);
  }
  const client = new proto.gantry.v1.SchedulerService(address, creds, { 'grpc.use_local_subchannel_pool': 1 });
  t.teardown(() => client.close());
  return client;
}

/** The certificate a TLS server presents to a new handshake (its serial, upper-case hex). */
export function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['h2'] }, () => {
      const serial = s.getPeerCertificate().serialNumber.toUpperCase();
      s.destroy();
      resolve(serial);
    });
    s.on('error', reject);
  });
}

export interface TokenIssuer {
  issuer: string;
  audience: string;
  /** The public key as a PEM SPKI file (auth.tokens.publicKeyFiles). */
  publicKeyFile: string;
  privateKey: CryptoKey;
  /** A JWKS file holding the public key (auth.tokens.jwksFile). */
  jwksFile: string;
  /**
   * A token for `sub` with `claims`, iss/aud of this issuer and exp in an hour unless overridden
   * (`exp: null` leaves it out; a number is seconds since the epoch); `key` signs instead of this issuer's key.
   */
  sign(sub: string, claims?: Omit<JWTPayload, 'exp'> & { exp?: number | null }, key?: CryptoKey): Promise<string>;
}

export async function makeTokenIssuer(dir: string, name = 'issuer', alg: 'ES256' | 'RS256' = 'ES256'): Promise<TokenIssuer> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicKeyFile = path.join(dir, `${name}-public.pem`);
  writeFileSync(publicKeyFile, await exportSPKI(publicKey));
  const jwksFile = path.join(dir, `${name}-jwks.json`);
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), alg, use: 'sig' }] }));
  const issuer = `https://sso.test/${name}`;
  const audience = 'gantry';
  return {
    issuer,
    audience,
    publicKeyFile,
    privateKey,
    jwksFile,
    async sign(sub, claims = {}, key = privateKey) {
      const { exp, ...rest } = claims;
      let jwt = new SignJWT({ iss: issuer, aud: audience, sub, ...rest }).setProtectedHeader({ alg }).setIssuedAt();
      if (exp !== null) jwt = jwt.setExpirationTime(exp ?? '1h');
      return jwt.sign(key);
    },
  };
}
