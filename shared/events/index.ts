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
  serviceTelemetrySubject,
  SERVICE_TELEMETRY_SUBJECT_ALL,
  TELEMETRY_SUBJECT_ALL,
  nodeTelemetryPermission,
  telemetrySubjectNode,
} from './events.js';
export type { Actor, AuditEvent, GantryEvent, NodeEvent, IncidentLeftover, JobEvent, DomainEvent } from './events.js';
export { SERVICE_WINDOW_SCHEMA_VERSION, parseServiceWindow } from './telemetry.js';
export type { ServiceWindow } from './telemetry.js';
