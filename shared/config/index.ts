export { loadConfig, parseHostPort, hostPortSchema, logSchema, tlsSchema } from './load.js';
export { natsAndLogEnv } from './common-env.js';
export { readConfigFile, readTlsFiles } from './tls-files.js';
export type { TlsFilePaths, TlsFiles } from './tls-files.js';
export type { HostPort, TlsOptions, EnvBinding, FlagBinding, ConfigSources } from './load.js';
