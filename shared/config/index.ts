export { loadConfig, parseHostPort, hostPortSchema, logSchema, tlsSchema } from './load.js';
export type { HostPort, TlsOptions, EnvBinding, FlagBinding, ConfigSources } from './load.js';
