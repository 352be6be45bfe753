/**
 * Requeue causes: which use a retry, and their words. Pure. The cause is data on the job record
 * (RequeueCause in shared/domain); the texts below are the only place it becomes a sentence, for
 * the job's message (what `gantry job` and the events show) and the stop reason sent to agents.
 * Nothing reads a cause back out of a message.
 */
import type { RequeueCause } from '../../shared/domain/index.js';
import type { OnTimeLimit } from '../../shared/jobspec/index.js';

/**
 * What a cause does to the job. `retry`: it spends one of the job's retries (the gang failed:
 * requeued with backoff while retries remain, else failed). `free`: it spends none (the scheduler
 * took its GPUs back: preemption, a drain's deadline; requeued at once). `fail`: the job fails at
 * once, its retries untouched (an agent refused the job's account: a retry would meet the same
 * refusal). `timeout`: the job ends in state `timeout`, its retries untouched (a rank reached the
 * time limit; with the spec's onTimeLimit: requeue it is `free` instead). A new kind names its policy here.
 */
export type CausePolicy = 'retry' | 'free' | 'fail' | 'timeout';

const POLICY: Record<RequeueCause['kind'], CausePolicy> = {
  'rank-exited': 'retry',
  'rank-failed-to-start': 'retry',
  'rank-gone': 'retry',
  'node-lost': 'retry',
  preempted: 'free',
  'drain-deadline': 'free',
  'run-as-refused': 'fail',
  'time-limit': 'timeout',
  'out-of-memory': 'retry',
  'prolog-failed': 'free',
  'node-unhealthy': 'free',
  'application-xid': 'retry',
};

/** The cause's policy; `onTimeLimit` (the job spec's, default fail): a time limit's is `free` when it is `requeue`. */
export function causePolicy(cause: RequeueCause, onTimeLimit: OnTimeLimit = 'fail'): CausePolicy {
  if (cause.kind === 'time-limit' && onTimeLimit === 'requeue') return 'free';
  return POLICY[cause.kind];
}

export function usesRetry(cause: RequeueCause): boolean {
  return POLICY[cause.kind] === 'retry';
}

/** What happened, as the head of the job's message: `rank 1 on n2 exited with code 3`. */
export function causeText(c: RequeueCause): string {
  switch (c.kind) {
    case 'rank-exited':
      return `rank ${c.rank} on ${c.node} ${c.signal ? `was killed by ${c.signal}` : `exited with code ${c.exitCode}`}`;
    case 'rank-failed-to-start':
      return `rank ${c.rank} on ${c.node} failed to start: ${c.error}`;
    case 'rank-gone':
      return `rank ${c.rank} on ${c.node} is gone after the agent reconnected`;
    case 'node-lost':
      return `node ${c.node} was lost`;
    case 'preempted':
      return `preempted by ${c.by} (priority ${c.priority}, queue ${c.queue}); ${(c.lostWorkGpuMs / 3_600_000).toFixed(2)} GPU-hours since its start or last checkpoint lost`;
    case 'drain-deadline':
      return `node ${c.node} was drained: its deadline passed`;
    case 'run-as-refused':
      return `node ${c.node} refused to run rank ${c.rank} as ${c.account ? JSON.stringify(c.account) : "the agent's own account"}: ${c.error}`;
    case 'time-limit':
      return `rank ${c.rank} on ${c.node} was stopped at the job's time limit (${c.limitSeconds} s)`;
    case 'out-of-memory':
      return `rank ${c.rank} on ${c.node} ran out of memory (killed at its memory limit${c.signal ? `, ${c.signal}` : c.exitCode !== null ? `, exit code ${c.exitCode}` : ''})`;
    case 'prolog-failed':
      return `the prolog on ${c.node} failed before rank ${c.rank} started: ${c.error}`;
    case 'node-unhealthy':
      return `node ${c.node} failed its health checks (${c.checks.join(', ')})`;
    case 'application-xid':
      return `rank ${c.rank} on ${c.node} hit XID ${c.xid}${c.gpu >= 0 ? ` on GPU ${c.gpu}` : ''} (pid ${c.pid})`;
  }
}

/** The reason a stopped rank's agent is given. */
export function stopReason(c: RequeueCause): string {
  switch (c.kind) {
    case 'preempted':
      return `preempted by ${c.by}`;
    case 'drain-deadline':
      return `node ${c.node} drained`;
    case 'time-limit':
      return 'time limit reached';
    default:
      return causeText(c);
  }
}

/** The job's message once requeued for this cause (`retry`: the retry it will run as, for a cause that uses one). */
export function requeuedText(c: RequeueCause, retry: number, maxRetries: number): string {
  const head = causeText(c);
  if (usesRetry(c)) return `${head}; requeued (retry ${retry} of ${maxRetries})`;
  return c.kind === 'drain-deadline' || c.kind === 'time-limit' || c.kind === 'prolog-failed' || c.kind === 'node-unhealthy' ? `${head}; requeued (no retry used)` : head;
}

/** The job's message once it timed out (state `timeout`). */
export function timedOutText(c: RequeueCause): string {
  return `${causeText(c)}; timed out (no retry used)`;
}

/** The job's message once failed at once for a cause whose policy is `fail`. */
export function refusedText(c: RequeueCause): string {
  return `${causeText(c)}; failed without a retry: it would meet the same refusal`;
}

/** The job's message once failed for this cause, its retries spent. */
export function exhaustedText(c: RequeueCause, maxRetries: number): string {
  return `${causeText(c)}; no retries left (${maxRetries})`;
}
