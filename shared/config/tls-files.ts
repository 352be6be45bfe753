/**
 * Reading the files a config names (TLS certificates, keys, CAs, NATS credentials) once at start,
 * with errors that name the config key that holds the path.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors/index.js';

/** The file at `path`, read whole; a ConfigError naming `key` (e.g. `grpc.tls.certFile`) when it cannot be. */
export function readConfigFile(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(key, `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** The path fields of a `tls` block (tlsSchema, and the nats block's tls). '' = not set. */
export interface TlsFilePaths {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface TlsFiles {
  ca: Buffer | null;
  cert: Buffer | null;
  key: Buffer | null;
}

/**
 * The PEM files of a `tls` block, each read when set (null when not). certFile and keyFile go
 * together. `keyPrefix` is the block's key in the config (`grpc.tls`, `scheduler.tls`,
 * `nats.tls`): every error names the offending key under it.
 */
export function readTlsFiles(tls: TlsFilePaths, keyPrefix: string): TlsFiles {
  if ((tls.certFile === '') !== (tls.keyFile === '')) {
    throw new ConfigError(`${keyPrefix}.${tls.certFile ? 'keyFile' : 'certFile'}`, 'certFile and keyFile go together');
  }
  const read = (k: keyof TlsFilePaths): Buffer | null => (tls[k] ? readConfigFile(tls[k], `${keyPrefix}.${k}`) : null);
  return { ca: read('caFile'), cert: read('certFile'), key: read('keyFile') };
}
