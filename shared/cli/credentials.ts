/**
 * The I/O half of the CLI's connection: reads the config file, the certificate, key, CA and token
 * files that the resolved settings (connection.ts) name, and builds the gRPC credentials. TLS
 * (grpc.credentials.createSsl; the system's roots when no CA is given) with the bearer token as a
 * call credential; plaintext (--insecure) with the token as call metadata instead, since grpc-js
 * refuses call credentials on an insecure channel (the token then travels in the clear).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import * as grpc from '@grpc/grpc-js';
import type { CliIO } from './command.js';
import { configFilePath, resolveConnection, settingError, type ConnectionFlags, type ConnectionSettings, type PathSetting } from './connection.js';

export interface SchedulerCredentials {
  settings: ConnectionSettings;
  credentials: grpc.ChannelCredentials;
  channelOptions: grpc.ChannelOptions;
  /** Metadata sent with every call: the token on a plaintext channel; empty otherwise. */
  metadata: grpc.Metadata;
}

function readSetting(s: PathSetting, what: string): Buffer {
  try {
    return readFileSync(s.path);
  } catch (e) {
    throw settingError(s.from, `cannot read the ${what} ${s.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, e);
  }
}

let quieted = false;

/**
 * grpc-js sends the address's host as the TLS server name, and Node warns (DEP0123, once a
 * process) when that is an IP address, which is how most users name a scheduler. The CLI drops
 * that one warning and keeps every other.
 */
function quietIpServerNameWarning(): void {
  if (quieted) return;
  quieted = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: unknown }).code : rest[1];
    if (code !== 'DEP0123') emit(warning, ...rest);
  }) as typeof process.emitWarning;
}

/** The home directory: HOME from the CLI's environment, else the account's. */
function homeOf(env: NodeJS.ProcessEnv): string {
  return env.HOME || os.homedir();
}

/** The settings for one command: its connection flags, the CLI's environment and the config file. */
export function connectionSettings(flags: ConnectionFlags, io: CliIO): ConnectionSettings {
  const home = homeOf(io.env);
  const file = configFilePath(io.env, home);
  let text: string | null;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw settingError(io.env.GANTRY_CONFIG_FILE ? 'GANTRY_CONFIG_FILE' : 'config file', `cannot read ${file}: ${(e as Error).message}`, e);
    // A GANTRY_CONFIG_FILE that is not there is a mistake; the default file is optional.
    if (io.env.GANTRY_CONFIG_FILE) throw settingError('GANTRY_CONFIG_FILE', `${file} does not exist`);
    text = null;
  }
  return resolveConnection({ flags, env: io.env, file: { path: file, text }, home, cwd: io.cwd });
}

/** Reads the files the settings name and builds the channel's credentials; errors name the setting (exit 2). */
export function schedulerCredentials(settings: ConnectionSettings): SchedulerCredentials {
  const metadata = new grpc.Metadata();
  let token: string | null = null;
  if (settings.token) {
    const from = 'file' in settings.token ? settings.token.file.from : settings.token.from;
    token = 'file' in settings.token ? readSetting(settings.token.file, 'token file').toString('utf8').trim() : settings.token.value.trim();
    if (!token) throw settingError(from, 'the token is empty');
    if (/\s/.test(token)) throw settingError(from, 'a token is one word (a JWT); this one holds whitespace');
  }
  if (settings.insecure) {
    if (token) metadata.set('authorization', `Bearer ${token}`);
    return { settings, credentials: grpc.credentials.createInsecure(), channelOptions: {}, metadata };
  }
  quietIpServerNameWarning();
  const ca = settings.ca ? readSetting(settings.ca, 'CA certificate') : null;
  const cert = settings.cert ? readSetting(settings.cert, 'client certificate') : null;
  const key = settings.key ? readSetting(settings.key, 'client key') : null;
  let credentials: grpc.ChannelCredentials;
  try {
    credentials = grpc.credentials.createSsl(ca, key, cert);
  } catch (e) {
    // node:tls refused the PEMs: a file that is not a certificate or key, or a key of another certificate.
    throw settingError(settings.cert?.from ?? settings.ca?.from ?? '--ca', `cannot use these TLS files: ${(e as Error).message}`, e);
  }
  if (token) {
    const bearer = `Bearer ${token}`;
    const callCredentials = grpc.credentials.createFromMetadataGenerator((_params, cb) => {
      const md = new grpc.Metadata();
      md.set('authorization', bearer);
      cb(null, md);
    });
    credentials = grpc.credentials.combineChannelCredentials(credentials, callCredentials);
  }
  const channelOptions: grpc.ChannelOptions = settings.serverName ? { 'grpc.ssl_target_name_override': settings.serverName, 'grpc.default_authority': settings.serverName } : {};
  return { settings, credentials, channelOptions, metadata };
}
