/**
 * How a finished rank ended, as its status says it (pure: no I/O): from its exit record, whether
 * it was told to stop (stop.json), and what its cgroups measured.
 */
import type { ExitRecord } from './records.js';
import type { TaskEndCause, TaskUsage } from './types.js';

export interface Ending {
  /** Absent when the rank simply exited (or never ran for a reason of its own). */
  endedBy?: TaskEndCause;
  message: string;
}

/**
 * 'timeout' when the supervisor stopped it for the job's time limit; 'oom' when it died of SIGKILL
 * and its cgroups counted an OOM kill (the message then starts `out of memory: `); 'stopped' when
 * it was told to stop. In that order: a stop that hit the memory limit on its way out is an OOM.
 */
export function describeEnding(exit: ExitRecord, stopped: boolean, usage: TaskUsage | null): Ending {
  if (exit.failedToStart) return { message: exit.message };
  if (exit.timedOut === true) return { endedBy: 'timeout', message: exit.message };
  if (exit.signal === 'SIGKILL' && (usage?.oomKills ?? 0) > 0) return { endedBy: 'oom', message: `out of memory: ${exit.message}` };
  if (stopped) return { endedBy: 'stopped', message: exit.message };
  return { message: exit.message };
}
