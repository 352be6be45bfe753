/** DiagnosticResult (agent -> scheduler, issue 20) to and from the wire, bounded at the scheduler's boundary. */
import { InvalidArgumentError } from '../errors/index.js';
import type { DiagnosticResult, DiagnosticResult__Output } from '../../proto/generated/gantry/v1/DiagnosticResult.js';

/** A DiagnosticResult as the daemons handle it. */
export interface DiagnosticResultWireView {
  requestId: string;
  passed: boolean;
  command: string;
  outputTail: string;
  startedMs: number;
  finishedMs: number;
  error: string;
}

/** What the scheduler accepts: the agent bounds its tail to 4 KiB (agent/diagnostic.ts); these leave room. */
export const DIAGNOSTIC_RESULT_BOUNDS = { requestIdMax: 64, commandMax: 4096, outputTailMax: 16 * 1024, errorMax: 4096 } as const;

export function diagnosticResultToPb(r: DiagnosticResultWireView): DiagnosticResult {
  return { requestId: r.requestId, passed: r.passed, command: r.command, outputTail: r.outputTail, startedUnixMs: r.startedMs, finishedUnixMs: r.finishedMs, error: r.error };
}

/** Throws InvalidArgumentError naming the field for a result out of bounds. */
export function diagnosticResultFromPb(pb: DiagnosticResult__Output | null | undefined, field: string): DiagnosticResultWireView {
  if (!pb) throw new InvalidArgumentError(field, 'is missing');
  const b = DIAGNOSTIC_RESULT_BOUNDS;
  const str = (v: string, name: string, max: number): string => {
    if (v.length > max) throw new InvalidArgumentError(`${field}.${name}`, `is ${v.length} characters; at most ${max}`);
    return v;
  };
  if (pb.requestId === '') throw new InvalidArgumentError(`${field}.requestId`, 'must not be empty');
  const startedMs = Number(pb.startedUnixMs);
  const finishedMs = Number(pb.finishedUnixMs);
  if (!Number.isSafeInteger(startedMs) || startedMs < 0) throw new InvalidArgumentError(`${field}.startedUnixMs`, `must be a unix time in ms; got ${String(pb.startedUnixMs)}`);
  if (!Number.isSafeInteger(finishedMs) || finishedMs < 0) throw new InvalidArgumentError(`${field}.finishedUnixMs`, `must be a unix time in ms; got ${String(pb.finishedUnixMs)}`);
  return {
    requestId: str(pb.requestId, 'requestId', b.requestIdMax),
    passed: pb.passed,
    command: str(pb.command, 'command', b.commandMax),
    outputTail: str(pb.outputTail, 'outputTail', b.outputTailMax),
    startedMs,
    finishedMs,
    error: str(pb.error, 'error', b.errorMax),
  };
}
