/**
 * Certificates for the benchmarks' mTLS runs (`--mtls on|both`): a CA, the scheduler's server
 * certificate for 127.0.0.1, an admin user certificate for the benchmark's own client, and node
 * certificates for simulated agents, all from shared/certgen (what `gantry certs` uses), in a
 * temporary directory.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createCa, issueCert, loadCa, type CertificateAuthority } from '../shared/certgen/index.js';

/** The benchmark client's identity: an admin, whose jobs run as root (as the plaintext runs' ranks do). */
export const BENCH_ADMIN = 'bench-admin';

export interface BenchPki {
  dir: string;
  caFile: string;
  caKeyFile: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
}

export type MtlsMode = 'off' | 'on' | 'both';

export function parseMtls(v: string | undefined): MtlsMode {
  if (v === undefined || v === 'off' || v === 'on' || v === 'both') return v ?? 'off';
  throw new Error(`--mtls must be off, on or both, not ${JSON.stringify(v)}`);
}

/** Which runs a mode asks for: false = plaintext, true = mTLS. */
export function mtlsRuns(mode: MtlsMode): boolean[] {
  return mode === 'both' ? [false, true] : [mode === 'on'];
}

function write(file: string, text: string, mode = 0o644): string {
  writeFileSync(file, text, { mode });
  return file;
}

/** Makes the certificates in a fresh directory `name` under `root`. */
export async function makeBenchPki(root: string, name: string): Promise<BenchPki> {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  const ca = await createCa('gantry-bench-ca');
  const server = await issueCert(ca, { kind: 'server', name: 'gantry-scheduler', hosts: ['127.0.0.1', 'localhost'] });
  const admin = await issueCert(ca, { kind: 'user', user: BENCH_ADMIN, groups: [] });
  const f = (n: string): string => path.join(dir, n);
  return {
    dir,
    caFile: write(f('ca.pem'), ca.cert),
    caKeyFile: write(f('ca-key.pem'), ca.key, 0o600),
    serverCert: write(f('scheduler.pem'), server.cert),
    serverKey: write(f('scheduler-key.pem'), server.key, 0o600),
    adminCert: write(f('admin.pem'), admin.cert),
    adminKey: write(f('admin-key.pem'), admin.key, 0o600),
  };
}

/** The scheduler's flags for mTLS: its certificate, the CA for clients, the admin, ranks as root. */
export function schedulerTlsArgs(p: BenchPki): string[] {
  return [
    '--set', `grpc.tls.certFile=${p.serverCert}`,
    '--set', `grpc.tls.keyFile=${p.serverKey}`,
    '--set', `grpc.tls.caFile=${p.caFile}`,
    '--set', `auth.roles.admin.users=[${BENCH_ADMIN}]`,
    '--set', 'auth.runAs.ownAccount=false',
    '--set', `auth.runAs.users.${BENCH_ADMIN}=[root]`,
    '--set', 'auth.allowRoot=true',
  ];
}

/** The benchmark client's channel credentials (the admin's certificate). */
export function adminCredentials(p: BenchPki): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(readFileSync(p.caFile), readFileSync(p.adminKey), readFileSync(p.adminCert));
}

let caCache: Promise<CertificateAuthority> | undefined;

/** Node certificates for `names`, written as node-<name>.pem / node-<name>-key.pem under `dir`. */
export async function writeNodeCerts(p: { caFile: string; caKeyFile: string }, names: readonly string[], dir: string): Promise<void> {
  caCache ??= loadCa(readFileSync(p.caFile, 'utf8'), readFileSync(p.caKeyFile, 'utf8'));
  const ca = await caCache;
  for (const name of names) {
    const c = await issueCert(ca, { kind: 'node', node: name });
    write(path.join(dir, `node-${name}.pem`), c.cert);
    write(path.join(dir, `node-${name}-key.pem`), c.key, 0o600);
  }
}

export const nodeCertFile = (dir: string, name: string): string => path.join(dir, `node-${name}.pem`);
export const nodeKeyFile = (dir: string, name: string): string => path.join(dir, `node-${name}-key.pem`);
