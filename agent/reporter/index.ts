export { Reporter, channelCredentials, MAX_QUEUED_INCIDENTS } from './reporter.js';
export type { ReporterOptions, ReporterEvents, ReportState, IncidentView } from './reporter.js';
