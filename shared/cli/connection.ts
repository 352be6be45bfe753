/**
 * Where and how the CLI talks to the scheduler, resolved once per command from, in decreasing
 * precedence: flags, environment variables, the selected context of the CLI's config file
 * (kubectl-style contexts), and the defaults (127.0.0.1:7070, TLS). Pure: the caller reads the
 * environment and the file and passes them in; nothing here touches the disk. Every error names
 * the flag, variable or file key it is about (exit 2).
 *
 * The file, `$XDG_CONFIG_HOME/gantry/config.yaml` (`~/.config/gantry/config.yaml`;
 * `GANTRY_CONFIG_FILE` overrides the path):
 *
 *     current-context: prod
 *     contexts:
 *       prod: {schedulers: [sched-a:7070, sched-b:7070], ca: /etc/gantry/ca.pem, cert: ~/.gantry/alice.pem, key: ~/.gantry/alice-key.pem}
 *       dev: {schedulers: [127.0.0.1:7070], insecure: true}
 *
 * Relative paths in the file resolve against the file's directory; in flags and variables against
 * the working directory; `~/` against the home directory everywhere.
 */
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseHostPort } from '../config/index.js';
import { ConfigError, InvalidArgumentError } from '../errors/index.js';

export const DEFAULT_SCHEDULER_ADDRESS = '127.0.0.1:7070';

/** The connection flags every scheduler command takes (node:util parseArgs options). */
export const CONNECTION_OPTIONS = {
  scheduler: { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'server-name': { type: 'string' },
  insecure: { type: 'boolean' },
  context: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

export type ConnectionFlags = {
  [K in keyof typeof CONNECTION_OPTIONS]?: (typeof CONNECTION_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
};

export const CONNECTION_USAGE = `connection (flags > environment > context > defaults):
  --scheduler A[,B...]  scheduler addresses, tried in order; a standby sends the call to the leader it names
                        (env GANTRY_SCHEDULER_ADDRESS; default ${DEFAULT_SCHEDULER_ADDRESS})
  --ca FILE             CA that verifies the scheduler (env GANTRY_CA; default: the system's roots)
  --cert FILE --key FILE  your client certificate and key (env GANTRY_CERT, GANTRY_KEY)
  --token-file FILE     a bearer token (JWT) read from FILE (env GANTRY_TOKEN_FILE); --token TOKEN (env GANTRY_TOKEN)
  --server-name NAME    the name the scheduler's certificate must carry, when the address is not in it (env GANTRY_SERVER_NAME)
  --insecure            plaintext gRPC, no TLS (env GANTRY_INSECURE=1); a token is then sent in the clear
  --context NAME        a context of the CLI's config file (env GANTRY_CONTEXT; file: GANTRY_CONFIG_FILE,
                        default \${XDG_CONFIG_HOME:-~/.config}/gantry/config.yaml)
  -v, --verbose         say which scheduler answered (also GANTRY_LOG_LEVEL=debug)
`;

/** A file path and where it was set (a flag, a variable, or a key of the config file). */
export interface PathSetting {
  path: string;
  from: string;
}

export type TokenSetting = { value: string; from: string } | { file: PathSetting };

export interface ConnectionSettings {
  /** The scheduler addresses, tried in order. */
  addresses: string[];
  addressesFrom: string;
  /** Plaintext (no TLS at all). */
  insecure: boolean;
  insecureFrom: string;
  ca: PathSetting | null;
  cert: PathSetting | null;
  key: PathSetting | null;
  token: TokenSetting | null;
  /** The name to check the scheduler's certificate against ('' = the address's host). */
  serverName: string;
  /** The context used, null when none. */
  context: string | null;
  /** The config file that was read, null when there was none. */
  configFile: string | null;
  verbose: boolean;
}

export interface ConnectionInput {
  flags: ConnectionFlags;
  env: Readonly<Record<string, string | undefined>>;
  /** The CLI's config file: its path and text, or its path and null when it does not exist. */
  file: { path: string; text: string | null };
  home: string;
  cwd: string;
}

/** The CLI's config file: GANTRY_CONFIG_FILE, else $XDG_CONFIG_HOME/gantry/config.yaml, else ~/.config/gantry/config.yaml. */
export function configFilePath(env: Readonly<Record<string, string | undefined>>, home: string): string {
  if (env.GANTRY_CONFIG_FILE) return env.GANTRY_CONFIG_FILE;
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(home, '.config');
  return path.join(base, 'gantry', 'config.yaml');
}

const addressSchema = z.string().refine((s) => isAddress(s), { message: 'must be host:port' });
const fileSchema = z.string().min(1, 'must not be empty');

export const contextSchema = z.strictObject({
  /** The scheduler addresses, tried in order. */
  schedulers: z.array(addressSchema).min(1, 'must list at least one host:port').optional(),
  ca: fileSchema.optional(),
  cert: fileSchema.optional(),
  key: fileSchema.optional(),
  token: z.string().min(1, 'must not be empty').optional(),
  tokenFile: fileSchema.optional(),
  serverName: z.string().min(1, 'must not be empty').optional(),
  insecure: z.boolean().optional(),
});
export type CliContext = z.infer<typeof contextSchema>;

export const cliConfigSchema = z.strictObject({
  'current-context': z.string().optional(),
  contexts: z.record(z.string().min(1), contextSchema).default({}),
});
export type CliConfig = z.infer<typeof cliConfigSchema>;

function isAddress(s: string): boolean {
  return !s.startsWith(':') && parseHostPort(s) !== undefined;
}

/** An error about a setting: a key of the config file is a ConfigError, a flag or variable an InvalidArgumentError (both exit 2). */
export function settingError(from: string, detail: string, cause?: unknown): ConfigError | InvalidArgumentError {
  const opts = cause === undefined ? undefined : { cause };
  return from.startsWith('-') || /^[A-Z_]+$/.test(from) ? new InvalidArgumentError(from, detail, opts) : new ConfigError(from, detail, opts);
}

/** The CLI's config file, validated; {} for a missing or empty file. Errors name the key (`contexts.prod.cert`). */
export function parseCliConfig(text: string | null, file: string): CliConfig {
  let raw: unknown;
  try {
    raw = text === null ? {} : (parseYaml(text) ?? {});
  } catch (e) {
    throw new ConfigError(file, `is not valid YAML: ${(e as Error).message}`, { cause: e });
  }
  const r = cliConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const at = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    throw new ConfigError([...at, keys[0]!].join('.'), `unknown key (in ${file}; a context takes ${Object.keys(contextSchema.shape).join(', ')})`);
  }
  throw new ConfigError(at.join('.') || file, `${issue.message} (in ${file})`);
}

function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

/** One layer of settings: flags, environment or context, each value with where it came from. */
interface Layer {
  rank: number;
  addresses?: { list: string[]; from: string };
  insecure?: { value: boolean; from: string };
  ca?: PathSetting;
  cert?: PathSetting;
  key?: PathSetting;
  token?: TokenSetting;
  serverName?: { value: string; from: string };
}

function addressList(text: string, from: string): string[] {
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw settingError(from, 'must list at least one host:port');
  for (const a of list) if (!isAddress(a)) throw settingError(from, `${JSON.stringify(a)} must be host:port`);
  return list;
}

function envBool(v: string, from: string): boolean {
  if (/^(1|true|yes)$/i.test(v)) return true;
  if (/^(0|false|no)$/i.test(v)) return false;
  throw settingError(from, `must be 1 or 0, got ${JSON.stringify(v)}`);
}

function flagLayer(f: ConnectionFlags, home: string, cwd: string): Layer {
  const p = (v: string | undefined, from: string): PathSetting | undefined => {
    if (v === undefined) return undefined;
    if (v === '') throw settingError(from, 'must not be empty');
    return { path: path.resolve(cwd, expandHome(v, home)), from };
  };
  if (f.token !== undefined && f['token-file'] !== undefined) throw settingError('--token', 'choose --token or --token-file, not both');
  if (f.token === '') throw settingError('--token', 'must not be empty');
  const tokenFile = p(f['token-file'], '--token-file');
  return {
    rank: 3,
    addresses: f.scheduler !== undefined ? { list: addressList(f.scheduler, '--scheduler'), from: '--scheduler' } : undefined,
    insecure: f.insecure ? { value: true, from: '--insecure' } : undefined,
    ca: p(f.ca, '--ca'),
    cert: p(f.cert, '--cert'),
    key: p(f.key, '--key'),
    token: f.token !== undefined ? { value: f.token, from: '--token' } : tokenFile ? { file: tokenFile } : undefined,
    serverName: f['server-name'] !== undefined ? { value: f['server-name'], from: '--server-name' } : undefined,
  };
}

function envLayer(env: ConnectionInput['env'], home: string, cwd: string): Layer {
  // An empty variable counts as unset (the shell's `VAR= gantry ...`).
  const v = (name: string): string | undefined => (env[name] ? env[name] : undefined);
  const p = (name: string): PathSetting | undefined => {
    const s = v(name);
    return s === undefined ? undefined : { path: path.resolve(cwd, expandHome(s, home)), from: name };
  };
  if (v('GANTRY_TOKEN') !== undefined && v('GANTRY_TOKEN_FILE') !== undefined) throw settingError('GANTRY_TOKEN', 'set GANTRY_TOKEN or GANTRY_TOKEN_FILE, not both');
  const addr = v('GANTRY_SCHEDULER_ADDRESS');
  const insecure = v('GANTRY_INSECURE');
  const tokenFile = p('GANTRY_TOKEN_FILE');
  return {
    rank: 2,
    addresses: addr !== undefined ? { list: addressList(addr, 'GANTRY_SCHEDULER_ADDRESS'), from: 'GANTRY_SCHEDULER_ADDRESS' } : undefined,
    insecure: insecure !== undefined ? { value: envBool(insecure, 'GANTRY_INSECURE'), from: 'GANTRY_INSECURE' } : undefined,
    ca: p('GANTRY_CA'),
    cert: p('GANTRY_CERT'),
    key: p('GANTRY_KEY'),
    token: v('GANTRY_TOKEN') !== undefined ? { value: v('GANTRY_TOKEN')!, from: 'GANTRY_TOKEN' } : tokenFile ? { file: tokenFile } : undefined,
    serverName: v('GANTRY_SERVER_NAME') !== undefined ? { value: v('GANTRY_SERVER_NAME')!, from: 'GANTRY_SERVER_NAME' } : undefined,
  };
}

function contextLayer(name: string, c: CliContext, file: string, home: string): Layer {
  const at = (k: string): string => `contexts.${name}.${k}`;
  const dir = path.dirname(file);
  const p = (v: string | undefined, k: string): PathSetting | undefined => (v === undefined ? undefined : { path: path.resolve(dir, expandHome(v, home)), from: at(k) });
  if (c.token !== undefined && c.tokenFile !== undefined) throw settingError(at('token'), 'choose token or tokenFile, not both');
  const tokenFile = p(c.tokenFile, 'tokenFile');
  return {
    rank: 1,
    addresses: c.schedulers ? { list: c.schedulers, from: at('schedulers') } : undefined,
    insecure: c.insecure !== undefined ? { value: c.insecure, from: at('insecure') } : undefined,
    ca: p(c.ca, 'ca'),
    cert: p(c.cert, 'cert'),
    key: p(c.key, 'key'),
    token: c.token !== undefined ? { value: c.token, from: at('token') } : tokenFile ? { file: tokenFile } : undefined,
    serverName: c.serverName !== undefined ? { value: c.serverName, from: at('serverName') } : undefined,
  };
}

/** The context to use: --context, else GANTRY_CONTEXT, else the file's current-context; null when none is named. */
function selectContext(input: ConnectionInput, config: CliConfig): { name: string; context: CliContext } | null {
  const named = input.flags.context !== undefined
    ? { name: input.flags.context, from: '--context' }
    : input.env.GANTRY_CONTEXT
      ? { name: input.env.GANTRY_CONTEXT, from: 'GANTRY_CONTEXT' }
      : config['current-context'] !== undefined
        ? { name: config['current-context'], from: 'current-context' }
        : null;
  if (!named) return null;
  const context = config.contexts[named.name];
  if (!context) {
    const known = Object.keys(config.contexts);
    const where = input.file.text === null ? `there is no config file ${input.file.path}` : `${input.file.path} has ${known.length ? `contexts ${known.join(', ')}` : 'no contexts'}`;
    throw settingError(named.from, `no context ${JSON.stringify(named.name)}: ${where}`);
  }
  return { name: named.name, context };
}

/**
 * The connection settings of one command. Each setting comes from the highest layer that sets it;
 * a certificate and its key, and a token and its file, come from one layer as a pair. Plaintext
 * (insecure) drops the TLS settings of lower layers and refuses those of its own or a higher one.
 */
export function resolveConnection(input: ConnectionInput): ConnectionSettings {
  const config = parseCliConfig(input.file.text, input.file.path);
  const selected = selectContext(input, config);
  const layers: Layer[] = [flagLayer(input.flags, input.home, input.cwd), envLayer(input.env, input.home, input.cwd)];
  if (selected) layers.push(contextLayer(selected.name, selected.context, input.file.path, input.home));
  const first = <K extends keyof Layer>(k: K): { layer: Layer; value: NonNullable<Layer[K]> } | undefined => {
    for (const l of layers) if (l[k] !== undefined) return { layer: l, value: l[k] as NonNullable<Layer[K]> };
    return undefined;
  };

  // A certificate and its key come from one layer.
  const pair = layers.find((l) => l.cert !== undefined || l.key !== undefined);
  if (pair && (pair.cert === undefined) !== (pair.key === undefined)) {
    const has = (pair.cert ?? pair.key)!;
    throw settingError(has.from, `a client certificate needs its key and the key its certificate: set ${pair.cert ? 'the key' : 'the certificate'} beside it`);
  }
  const addresses = first('addresses');
  const insecure = first('insecure');
  const ca = first('ca');
  const token = first('token');
  const serverName = first('serverName');
  const plaintext = insecure?.value.value === true;
  const tls: Array<{ rank: number; from: string } | undefined> = [
    ca && { rank: ca.layer.rank, from: ca.value.from },
    pair && { rank: pair.rank, from: pair.cert!.from },
    serverName && { rank: serverName.layer.rank, from: serverName.value.from },
  ];
  if (plaintext) {
    const clash = tls.find((s) => s && s.rank >= insecure!.layer.rank);
    if (clash) throw settingError(clash.from, `plaintext (${insecure!.value.from}) uses no TLS: it sends no certificate and checks none; drop one of the two`);
  }
  return {
    addresses: addresses?.value.list ?? [DEFAULT_SCHEDULER_ADDRESS],
    addressesFrom: addresses?.value.from ?? 'the default',
    insecure: plaintext,
    insecureFrom: insecure?.value.from ?? 'the default',
    ca: plaintext ? null : (ca?.value ?? null),
    cert: plaintext ? null : (pair?.cert ?? null),
    key: plaintext ? null : (pair?.key ?? null),
    token: token?.value ?? null,
    serverName: plaintext ? '' : (serverName?.value.value ?? ''),
    context: selected?.name ?? null,
    configFile: input.file.text === null ? null : input.file.path,
    verbose: input.flags.verbose === true || /^(debug|trace)$/i.test(input.env.GANTRY_LOG_LEVEL ?? ''),
  };
}
