export { HEALTH_REASON_PREFIX, INCIDENT_SOURCES, incidentReason, incidentStep, isIncidentReason, isVerdictReason, strongestAction, verdictReason, verdictStep } from './policy.js';
export type { IncidentSource, PolicyStep } from './policy.js';
export { breakerDecision, isOut, maxOutNodes } from './breaker.js';
export type { BreakerDecision } from './breaker.js';
export { TRAY_DOMAIN_CHECK, trayDomainConflicts, withTrayVerdict } from './tray-domain.js';
