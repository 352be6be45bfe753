/**
 * A nats-server run from the shipped deploy/nats/nats-server.conf with the users gantry nats-auth
 * writes: the config is copied beside a freshly generated gantry/nats-auth.conf, with one change,
 * its JetStream store_dir pointed at a temp dir (startNats's -a/-p override its listen).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { generateNatsAuthDir, type NatsAuth, type NatsAuthFiles } from '../../shared/natsauth/index.js';
import { ROOT, startNats, tempDir, type Nats } from './cluster.js';

export const SHIPPED_NATS_CONF = path.join(ROOT, 'deploy', 'nats', 'nats-server.conf');

export interface PermissionedNats {
  nats: Nats;
  auth: NatsAuth;
  files: NatsAuthFiles;
  /** The config it runs (the shipped one, store_dir changed). */
  confPath: string;
}

/** The shipped config and a generated auth dir, in a fresh temp dir; returns the config's path. */
export function shippedNatsConf(t: Test, nodes: readonly string[]): { confPath: string; auth: NatsAuth; files: NatsAuthFiles } {
  const dir = tempDir(t, 'gantry-natsconf-');
  const { auth, files } = generateNatsAuthDir(path.join(dir, 'gantry'), { nodes });
  const shipped = readFileSync(SHIPPED_NATS_CONF, 'utf8');
  const storeDir = path.join(dir, 'jetstream');
  const conf = shipped.replace(/^(\s*store_dir:\s*).*$/m, `$1${JSON.stringify(storeDir)}`);
  if (conf === shipped) throw new Error(`${SHIPPED_NATS_CONF} has no store_dir line to point at a temp dir`);
  const confPath = path.join(dir, 'nats-server.conf');
  writeFileSync(confPath, conf);
  return { confPath, auth, files };
}

export async function startPermissionedNats(t: Test, nodes: readonly string[]): Promise<PermissionedNats> {
  const { confPath, auth, files } = shippedNatsConf(t, nodes);
  const nats = await startNats(t, ['-c', confPath], { jetstreamFromConfig: true });
  return { nats, auth, files, confPath };
}
