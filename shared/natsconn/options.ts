/**
 * One NATS client configuration for the scheduler and the agent: servers, credentials (user and
 * password, token, nkey seed file or a .creds file) and TLS. Compiled once at start into nats.js
 * ConnectionOptions; files are read then, so a missing one fails the start naming its key.
 */
import { credsAuthenticator, nkeyAuthenticator, type ConnectionOptions } from 'nats';
import { z } from 'zod';
import { readConfigFile, readTlsFiles } from '../config/index.js';
import { ConfigError } from '../errors/index.js';

const serversSchema = z
  .union([z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)), z.array(z.string().min(1))])
  .pipe(z.array(z.string().regex(/^(nats|tls|wss?):\/\/[^\s]+$/, 'must be nats://host:port (or tls://, ws://, wss://)')).min(1));

/** The client keys shared by every daemon's `nats` block (each daemon adds its own). */
export const natsClientShape = {
  servers: serversSchema.prefault('nats://127.0.0.1:4222'),
  user: z.string().default(''),
  pass: z.string().default(''),
  token: z.string().default(''),
  /** A file holding an nkey seed (SU...), for nkey authentication. */
  nkeySeedFile: z.string().default(''),
  /** A .creds file (JWT and nkey seed), for decentralized (operator mode) authentication. */
  credsFile: z.string().default(''),
  tls: z
    .strictObject({
      /** Require TLS to the server (also implied by tls:// URLs). */
      enabled: z.boolean().default(false),
      caFile: z.string().default(''),
      /** Client certificate and key, for servers that verify clients. */
      certFile: z.string().default(''),
      keyFile: z.string().default(''),
    })
    .prefault({}),
};

const clientSchema = z.strictObject(natsClientShape);
export type NatsClientConfig = z.infer<typeof clientSchema>;

/**
 * nats.js connection options from a daemon's `nats` block. `prefix` is the block's key in the
 * daemon's config (`nats`), used in error messages.
 */
export function natsConnectionOptions(cfg: NatsClientConfig, name: string, prefix = 'nats'): ConnectionOptions {
  const auths = [cfg.user ? 'user' : '', cfg.token ? 'token' : '', cfg.nkeySeedFile ? 'nkeySeedFile' : '', cfg.credsFile ? 'credsFile' : ''].filter(Boolean);
  if (auths.length > 1) throw new ConfigError(`${prefix}.${auths[1]}`, `choose one of user/pass, token, nkeySeedFile and credsFile (also set: ${auths[0]})`);
  const opts: ConnectionOptions = { servers: cfg.servers, name };
  if (cfg.user) Object.assign(opts, { user: cfg.user, pass: cfg.pass });
  if (cfg.token) opts.token = cfg.token;
  if (cfg.nkeySeedFile) {
    const seed = new TextDecoder().decode(readConfigFile(cfg.nkeySeedFile, `${prefix}.nkeySeedFile`)).trim();
    opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (cfg.credsFile) opts.authenticator = credsAuthenticator(readConfigFile(cfg.credsFile, `${prefix}.credsFile`));
  const t = cfg.tls;
  if (t.enabled || t.caFile || t.certFile || t.keyFile) {
    // nats.js reads the files itself; reading them here fails the start naming the key.
    readTlsFiles(t, `${prefix}.tls`);
    opts.tls = { ...(t.caFile ? { caFile: t.caFile } : {}), ...(t.certFile ? { certFile: t.certFile, keyFile: t.keyFile } : {}) };
  }
  return opts;
}
