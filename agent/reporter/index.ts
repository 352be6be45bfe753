export { Reporter, channelCredentials } from './reporter.js';
export type { ReporterOptions, ReporterEvents, ReportState } from './reporter.js';
