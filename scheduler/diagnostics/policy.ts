/**
 * When a node drained for health runs its diagnostic, and what its answer does (issue 20,
 * "diagnostics and return"). Pure: no I/O, no clock; the shell (service.ts) passes `nowMs`.
 *
 * A node is a candidate while its schedulability reason starts with 'health: ' (cordoned or
 * draining), it is connected, approved, and no rank runs on it. Flapping is held back two ways:
 * - at most `maxTries` tries per drain (a drain ends when the node is schedulable again, by a pass
 *   or by an operator's uncordon), at least `holdDownMs` apart;
 * - after a return (a pass that uncordoned the node), the node's next diagnostic waits until
 *   `holdDownMs` after that return: a node drained again at once is not returned again at once.
 * An unanswered request counts as a failed try after `answerGraceMs` (the agent's own timeout is
 * health.diagnostic.timeoutMs, at most an hour).
 */
import type { Connectivity, NodeDiagnostic, Schedulability } from '../../shared/domain/index.js';

/** Cordon reasons set by health policy start with this (scheduler/node-registry.ts re-exports it). */
export const HEALTH_REASON_PREFIX = 'health: ';

export interface DiagnosticPolicy {
  /** Tries per drain (health.diagnostic.maxTries). */
  maxTries: number;
  /** Between tries, and after a return before the next (health.diagnostic.holdDownMs). */
  holdDownMs: number;
  /** An unanswered request is a failed try after this long. */
  answerGraceMs: number;
}

/** The agent's longest diagnostic (health.diagnostic.timeoutMs's maximum) plus a minute. */
export const DEFAULT_ANSWER_GRACE_MS = 3_600_000 + 60_000;

/** What the shell knows of one node when it asks. */
export interface DiagnosticInput {
  schedulability: Schedulability;
  reason: string;
  connectivity: Connectivity;
  awaitingApproval: boolean;
  /** Ranks of active jobs placed on the node (and stopped ranks still releasing GPUs there). */
  busyRanks: number;
  /** Tries in the node's current drain so far. */
  tries: number;
  /** When the last try of this drain was answered (unix ms); null: none yet. */
  lastTryMs: number | null;
  /** When a pass last returned the node (unix ms); null: never (that this scheduler knows). */
  lastReturnMs: number | null;
  /** When the request now in flight was sent; null: none in flight. */
  inFlightSinceMs: number | null;
  nowMs: number;
}

export type DiagnosticDecision =
  /** Not a candidate: not drained for health, lost, or awaiting approval. */
  | { action: 'none'; why: 'not-health-drained' | 'lost' | 'awaiting-approval' }
  /** A candidate, not now: ranks still run, a request is in flight, or a hold-down runs until `untilMs`. */
  | { action: 'wait'; why: 'ranks-running' | 'in-flight' | 'hold-down'; untilMs?: number }
  /** Send RunDiagnostic; this is try number `attempt` of the drain. */
  | { action: 'run'; attempt: number }
  /** The request in flight went unanswered too long: record it as a failed try. */
  | { action: 'expire'; attempt: number }
  /** maxTries reached: the node stays drained until a person acts (the last failure raised the alert). */
  | { action: 'give-up'; tries: number };

export function isHealthDrained(schedulability: Schedulability, reason: string): boolean {
  return schedulability !== 'schedulable' && reason.startsWith(HEALTH_REASON_PREFIX);
}

/** The decision table, first row that matches wins. */
export function decideDiagnostic(n: DiagnosticInput, p: DiagnosticPolicy): DiagnosticDecision {
  if (!isHealthDrained(n.schedulability, n.reason)) return { action: 'none', why: 'not-health-drained' };
  if (n.inFlightSinceMs !== null) {
    return n.nowMs - n.inFlightSinceMs >= p.answerGraceMs ? { action: 'expire', attempt: n.tries + 1 } : { action: 'wait', why: 'in-flight' };
  }
  if (n.connectivity !== 'ready') return { action: 'none', why: 'lost' };
  if (n.awaitingApproval) return { action: 'none', why: 'awaiting-approval' };
  if (n.tries >= p.maxTries) return { action: 'give-up', tries: n.tries };
  if (n.busyRanks > 0) return { action: 'wait', why: 'ranks-running' };
  const holds = [n.lastTryMs, n.tries === 0 ? n.lastReturnMs : null].filter((t): t is number => t !== null).map((t) => t + p.holdDownMs);
  const untilMs = Math.max(0, ...holds);
  if (n.nowMs < untilMs) return { action: 'wait', why: 'hold-down', untilMs };
  return { action: 'run', attempt: n.tries + 1 };
}

/** What the agent answered (DiagnosticResult), as the shell hands it on. */
export interface DiagnosticAnswer {
  passed: boolean;
  command: string;
  outputTail: string;
  error: string;
  finishedMs: number;
}

export type DiagnosticResultKind = 'passed' | 'failed' | 'error';

export interface DiagnosticOutcome {
  result: DiagnosticResultKind;
  /** Kept on the node record. */
  record: NodeDiagnostic;
  /** Uncordon the node (only a pass of a node still drained for health). */
  returnNode: boolean;
  /** For a failure or error: what a person should do, one line (the alert's and the event's text). */
  todo: string;
}

const SUMMARY_MAX = 300;

/** One printable line: the error, else the last non-empty output line. */
export function summarize(a: Pick<DiagnosticAnswer, 'error' | 'outputTail'>): string {
  const text = a.error || a.outputTail.split('\n').map((l) => l.trim()).filter((l) => l !== '').pop() || '';
  return text.length > SUMMARY_MAX ? `${text.slice(0, SUMMARY_MAX - 3)}...` : text;
}

/**
 * What an answer does. `remedies` are the remedy fields of the node's fail verdicts (e.g.
 * "reset-gpu"); `stillDrained` is whether the node is still drained for health now.
 */
export function diagnosticOutcome(
  node: string,
  answer: DiagnosticAnswer,
  attempt: number,
  maxTries: number,
  remedies: readonly string[],
  stillDrained: boolean,
): DiagnosticOutcome {
  const result: DiagnosticResultKind = answer.error ? 'error' : answer.passed ? 'passed' : 'failed';
  const record: NodeDiagnostic = { atMs: answer.finishedMs, passed: result === 'passed', command: answer.command, summary: summarize(answer), tries: attempt };
  if (result === 'passed') return { result, record, returnNode: stillDrained, todo: '' };
  const byHand = answer.command ? `run the diagnostic by hand (${answer.command})` : 'configure a diagnostic (health.diagnostic.command in the agent config) or run one by hand';
  const remedy = [...new Set(remedies.filter((r) => r !== ''))];
  const repair = remedy.length > 0 ? `remedy: ${remedy.join(', ')}` : 'replace or repair the GPU';
  const left = attempt >= maxTries ? `no more automatic tries (${attempt} of ${maxTries})` : `try ${attempt} of ${maxTries}`;
  return { result, record, returnNode: false, todo: `node ${node} stays drained, ${left}: ${byHand}; ${repair}; then gantry uncordon ${node}` };
}
