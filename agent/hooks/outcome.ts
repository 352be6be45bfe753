/**
 * A prolog's or epilog's run as a value, and its one line for people (the refusal message and the
 * NodeIncident reason). Pure: no I/O, no clock.
 */

export type HookName = 'prolog' | 'epilog';

export interface HookRun {
  hook: HookName;
  /** The executable that ran. */
  path: string;
  /** passed: exit 0; failed: another exit code or a signal; timeout: killed at hooks.timeoutMs; unstartable: could not be started. */
  result: 'passed' | 'failed' | 'timeout' | 'unstartable';
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** The last bytes of its stdout and stderr together (bounded), trimmed. */
  tail: string;
  /** Why it could not be started ('' otherwise). */
  error: string;
  timeoutMs: number;
}

/** Result label for the metrics (gantry_agent_hook_runs_total{result}). */
export const HOOK_RESULTS: readonly HookRun['result'][] = ['passed', 'failed', 'timeout', 'unstartable'];

/** At most this many characters of output tail go into a reason. */
export const REASON_TAIL_CHARS = 512;

/** One line: the hook, how it ended, the tail of its output. '' for a run that passed. */
export function describeHookRun(r: HookRun): string {
  if (r.result === 'passed') return '';
  const how =
    r.result === 'timeout'
      ? `timed out after ${r.timeoutMs} ms (hooks.timeoutMs) and was killed`
      : r.result === 'unstartable'
        ? `could not be started: ${r.error}`
        : r.signal !== null
          ? `was killed by ${r.signal}`
          : `exited with code ${r.exitCode}`;
  const tail = r.tail.replace(/\s+/g, ' ').trim();
  const shown = tail.length > REASON_TAIL_CHARS ? `...${tail.slice(-REASON_TAIL_CHARS)}` : tail;
  return `${r.hook} ${r.path} ${how}${shown ? `; output: ${shown}` : ''}`;
}
