export {
  EVENT_SCHEMA_VERSION,
  EVENTS_STREAM,
  EVENTS_SUBJECT_ALL,
  subjectToken,
  subjectTokenDecode,
  nodeEventSubject,
  jobEventSubject,
  eventSubject,
  domainEventSubject,
  auditEventSubject,
  latencyTelemetrySubject,
  LATENCY_TELEMETRY_SUBJECT_ALL,
} from './events.js';
export type { Actor, AuditEvent, GantryEvent, NodeEvent, JobEvent, DomainEvent } from './events.js';
export { SERVICE_WINDOW_SCHEMA_VERSION, SERVICE_TELEMETRY_SUBJECT_ALL, serviceTelemetrySubject, parseServiceWindow } from './telemetry.js';
export type { ServiceWindow } from './telemetry.js';
