export { loadConfig, parseHostPort, hostPortSchema, logSchema, serverTlsSchema, clientTlsSchema } from './load.js';
export { natsAndLogEnv } from './common-env.js';
export { readConfigFile, readTlsFiles } from './tls-files.js';
export type { TlsFilePaths, TlsFiles } from './tls-files.js';
export type { HostPort, ServerTlsOptions, ClientTlsOptions, EnvBinding, FlagBinding, ConfigSources } from './load.js';
