/** Diagnostics and return of nodes drained for health (issue 20): the pure policy and its shell. */
export { decideDiagnostic, diagnosticOutcome, isHealthDrained, summarize, HEALTH_REASON_PREFIX, DEFAULT_ANSWER_GRACE_MS } from './policy.js';
export type { DiagnosticPolicy, DiagnosticInput, DiagnosticDecision, DiagnosticAnswer, DiagnosticOutcome, DiagnosticResultKind } from './policy.js';
export { NodeDiagnostics } from './service.js';
export type { DiagnosticsDeps, DiagnosticResultView } from './service.js';
