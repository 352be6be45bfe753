/**
 * Config = defaults (in the schema) <- YAML file <- environment <- flags, validated once at start.
 * Every error names the key (ConfigError -> the CLI exits 2). Environment variables are read only
 * through the `env` object the CLI passes in, never from process.env here.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors/index.js';

export interface HostPort {
  host: string;
  port: number;
}

/** "host:port", "[v6]:port" or ":port" (all interfaces of the default host). Port 0 means pick a free one. */
export function parseHostPort(text: string, defaultHost = '127.0.0.1'): HostPort | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? (m[2] || defaultHost), port };
}

export const hostPortSchema = z.string().transform((s, ctx) => {
  const hp = parseHostPort(s);
  if (!hp) {
    ctx.addIssue({ code: 'custom', message: `must be host:port with a port 0-65535, got ${JSON.stringify(s)}` });
    return z.NEVER;
  }
  return hp;
});

export const logSchema = z
  .strictObject({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    format: z.enum(['auto', 'json', 'pretty']).default('auto'),
  })
  .prefault({});

/**
 * The scheduler's gRPC TLS (server side). TLS is on unless the daemon's `grpc.insecure` is true:
 * certFile and keyFile are then required. caFile verifies client certificates (node and user
 * identities); without it only bearer tokens can authenticate users, and agents cannot prove
 * their node. All three files are read again on SIGHUP.
 */
export const serverTlsSchema = z
  .strictObject({
    caFile: z.string().default(''),
    certFile: z.string().default(''),
    keyFile: z.string().default(''),
    /** Refuse the TLS handshake of a client without a valid certificate (no token-only users then). */
    requireClientCert: z.boolean().default(false),
  })
  .prefault({});
export type ServerTlsOptions = z.infer<typeof serverTlsSchema>;

/**
 * A client's TLS to the scheduler (the agent's `scheduler.tls`). TLS is on unless the daemon's
 * `scheduler.insecure` is true. caFile verifies the scheduler; certFile and keyFile are the
 * client's own certificate (for an agent, its node certificate).
 */
export const clientTlsSchema = z
  .strictObject({
    caFile: z.string().default(''),
    certFile: z.string().default(''),
    keyFile: z.string().default(''),
    /** The name to check the scheduler's certificate against, when it differs from the address. */
    serverName: z.string().default(''),
    /** Serials of scheduler certificates to refuse (hex, one per line, # comments), re-read on SIGHUP; '' = none. */
    revokedSerialsFile: z.string().default(''),
  })
  .prefault({});
export type ClientTlsOptions = z.infer<typeof clientTlsSchema>;

export interface EnvBinding {
  env: string;
  key: string;
}

export interface FlagBinding {
  flag: string;
  key: string;
}

export interface ConfigSources {
  /** Path of a YAML file, or undefined for none. */
  file?: string | undefined;
  env: NodeJS.ProcessEnv;
  /** Which environment variables set which keys. */
  envBindings: readonly EnvBinding[];
  /** key=value pairs from flags, applied last (values parsed as YAML scalars). */
  sets: readonly string[];
}

function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

function scalar(text: string, key: string): unknown {
  try {
    return parseYaml(text) as unknown;
  } catch (e) {
    throw new ConfigError(key, `cannot parse value ${JSON.stringify(text)}`, { cause: e });
  }
}

function issueKey(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
}

export function loadConfig<S extends z.ZodType>(schema: S, src: ConfigSources): z.infer<S> {
  let raw: Record<string, unknown> = {};
  if (src.file) {
    let text: string;
    try {
      text = readFileSync(src.file, 'utf8');
    } catch (e) {
      throw new ConfigError('--config', `cannot read ${src.file}: ${(e as Error).message}`, { cause: e });
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (e) {
      throw new ConfigError('--config', `${src.file} is not valid YAML: ${(e as Error).message}`, { cause: e });
    }
    if (doc !== null && doc !== undefined) {
      if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError('--config', `${src.file} must hold a mapping`);
      raw = doc as Record<string, unknown>;
    }
  }
  for (const b of src.envBindings) {
    const v = src.env[b.env];
    if (v !== undefined && v !== '') setPath(raw, b.key, scalar(v, `${b.key} (from ${b.env})`));
  }
  for (const s of src.sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ConfigError(s, 'expected key=value');
    const key = s.slice(0, eq);
    setPath(raw, key, scalar(s.slice(eq + 1), key));
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const base = issueKey(issue.path);
      const keys = issue.keys.map((k) => (base ? `${base}.${k}` : k));
      throw new ConfigError(keys.join(', '), 'unknown key');
    }
    throw new ConfigError(issueKey(issue.path) || '(root)', issue.message);
  }
  return result.data as z.infer<S>;
}
