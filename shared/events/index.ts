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
  latencyTelemetrySubject,
  LATENCY_TELEMETRY_SUBJECT_ALL,
} from './events.js';
export type { GantryEvent, NodeEvent, JobEvent, DomainEvent } from './events.js';
