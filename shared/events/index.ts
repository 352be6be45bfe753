export {
  EVENT_SCHEMA_VERSION,
  EVENTS_STREAM,
  EVENTS_SUBJECT_ALL,
  subjectToken,
  subjectTokenDecode,
  nodeEventSubject,
  jobEventSubject,
  eventSubject,
} from './events.js';
export type { GantryEvent, NodeEvent, JobEvent } from './events.js';
