/**
 * The demo's identities (`gantry demo` is secure by default, like a real cluster): a CA, the
 * scheduler's certificate for 127.0.0.1, a node certificate per simulated agent, an admin's client
 * certificate (the demo's own calls, and a second terminal that wants to act as an admin), and a
 * bearer token for a user, alice (group ml), signed by a key the scheduler trusts
 * (auth.tokens.publicKeyFiles). Jobs of both run as DEMO account: `nobody` when the demo runs as
 * root, else the demo's own account; never root.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { createCa, issueCert } from '../shared/certgen/index.js';

export const DEMO_ISSUER = 'https://gantry-demo.invalid';
export const DEMO_USER = 'alice';
export const DEMO_GROUP = 'ml';
export const DEMO_ADMIN = 'demo-admin';
/** How long the demo's token is good for. */
const TOKEN_TTL_S = 7 * 24 * 3600;

export interface DemoIdentity {
  dir: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  tokenKeyFile: string;
  /** alice's bearer token. */
  tokenFile: string;
  /** The Unix account the demo's jobs run as. */
  account: string;
  nodeCert(node: string): string;
  nodeKey(node: string): string;
}

/** `nobody` when the demo runs as root (ranks never run as root), else the demo's own account. */
export function demoAccount(): string {
  return process.getuid?.() === 0 ? 'nobody' : os.userInfo().username;
}

export async function makeDemoIdentity(dir: string, nodes: readonly string[], nowMs: number): Promise<DemoIdentity> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const put = (name: string, text: string, secret = false): string => {
    const file = path.join(dir, name);
    writeFileSync(file, text, { mode: secret ? 0o600 : 0o644 });
    return file;
  };
  const ca = await createCa('gantry-demo-ca');
  const server = await issueCert(ca, { kind: 'server', name: 'gantry-scheduler', hosts: ['127.0.0.1', 'localhost'] });
  const admin = await issueCert(ca, { kind: 'user', user: DEMO_ADMIN, groups: [] });
  for (const n of nodes) {
    const c = await issueCert(ca, { kind: 'node', node: n });
    put(`node-${n}.pem`, c.cert);
    put(`node-${n}-key.pem`, c.key, true);
  }
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const token = await new SignJWT({ groups: [DEMO_GROUP] })
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer(DEMO_ISSUER)
    .setSubject(DEMO_USER)
    .setIssuedAt(Math.floor(nowMs / 1000))
    .setExpirationTime(Math.floor(nowMs / 1000) + TOKEN_TTL_S)
    .sign(privateKey);
  return {
    dir,
    caFile: put('ca.pem', ca.cert),
    serverCert: put('scheduler.pem', server.cert),
    serverKey: put('scheduler-key.pem', server.key, true),
    adminCert: put(`user-${DEMO_ADMIN}.pem`, admin.cert),
    adminKey: put(`user-${DEMO_ADMIN}-key.pem`, admin.key, true),
    tokenKeyFile: put('token-key.pem', await exportSPKI(publicKey)),
    tokenFile: put(`${DEMO_USER}.token`, `${token}\n`, true),
    account: demoAccount(),
    nodeCert: (n) => path.join(dir, `node-${n}.pem`),
    nodeKey: (n) => path.join(dir, `node-${n}-key.pem`),
  };
}

/** The scheduler's flags: TLS with the demo's CA, alice's token issuer, the admin, the accounts. */
export function demoSchedulerArgs(id: DemoIdentity): string[] {
  return [
    '--set', `grpc.tls.certFile=${id.serverCert}`,
    '--set', `grpc.tls.keyFile=${id.serverKey}`,
    '--set', `grpc.tls.caFile=${id.caFile}`,
    '--set', `auth.tokens.issuer=${DEMO_ISSUER}`,
    '--set', `auth.tokens.publicKeyFiles=[${JSON.stringify(id.tokenKeyFile)}]`,
    '--set', `auth.roles.admin.users=[${DEMO_ADMIN}]`,
    '--set', 'auth.runAs.ownAccount=false',
    '--set', `auth.runAs.users.${DEMO_USER}=[${id.account}]`,
    '--set', `auth.runAs.users.${DEMO_ADMIN}=[${id.account}]`,
  ];
}

/** A simulated agent's flags: the CA that verifies the scheduler, its node certificate, the one account it runs ranks as. */
export function demoAgentArgs(id: DemoIdentity, node: string): string[] {
  return [
    '--set', `scheduler.tls.caFile=${id.caFile}`,
    '--set', `scheduler.tls.certFile=${id.nodeCert(node)}`,
    '--set', `scheduler.tls.keyFile=${id.nodeKey(node)}`,
    '--set', `runner.allowedUsers=[${id.account}]`,
  ];
}

/** The environment a CLI needs to act as alice (token) or as the demo's admin (certificate). */
export function demoCliEnv(id: DemoIdentity, address: string, as: 'user' | 'admin'): Record<string, string> {
  const base = { GANTRY_SCHEDULER_ADDRESS: address, GANTRY_CA: id.caFile };
  return as === 'user' ? { ...base, GANTRY_TOKEN_FILE: id.tokenFile } : { ...base, GANTRY_CERT: id.adminCert, GANTRY_KEY: id.adminKey };
}

export function exportLine(env: Record<string, string>): string {
  return `export ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`;
}
