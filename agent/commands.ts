/**
 * The scheduler's commands to this agent (the SchedulerMessage of AgentService.Connect), the
 * agent's side of what scheduler/api sends: StartTask, StopTask, ReadLog, LatencyPeers and RunDiagnostic, each
 * converted from the wire and handed to the rank runner or the latency service, and the answers
 * (task updates, log chunks) sent back through the reporter. Thin: convert, hand on, answer.
 */
import type { Inventory } from '../shared/domain/index.js';
import { isGantryError } from '../shared/errors/index.js';
import type { Logger } from '../shared/log/index.js';
import type { SchedulerMessage__Output } from '../shared/proto/index.js';
import { latencyPeersFromPb, serviceSloFromPb, startTaskLimitsFromPb, type LatencyPeerView, type StartTaskLimits, type TaskStatusView } from '../shared/wire/index.js';
import { RunAsRefusedError, taskKeyString, type TaskKey, type TaskRunner, type TaskSpec, type TaskStatus } from './runner/index.js';
import { PrologFailedError } from './hooks/index.js';
import type { SloTarget } from './slo/index.js';
import { nearestHcas } from './topology/index.js';
import type { TermFence } from './term-fence.js';

/** Where the answers go: the reporter's stream to the scheduler. */
export interface CommandReplies {
  sendTaskUpdate(status: TaskStatusView): unknown;
  sendLogChunk(chunk: { requestId: string; data: string; nextOffset: number; eof: boolean; error: string }): void;
}

export interface CommandDeps {
  runner: Pick<TaskRunner, 'start' | 'stop' | 'readLog'>;
  /** The reporter, once there is one. */
  replies(): CommandReplies | undefined;
  /** The node's last inventory (for the HCAs nearest a rank's GPUs), once probed. */
  inventory(): Inventory | undefined;
  /** The SLO scraper, where SLO scraping is on. */
  slo(): { track(target: SloTarget): void } | undefined;
  /** RunDiagnostic's handler (agent/diagnostic.ts): runs the node's diagnostic and answers. */
  diagnose?(requestId: string, reason: string): Promise<void>;
  /** The latency service, where latency probing is on. */
  latency(): { setPeers(peers: LatencyPeerView[]): void } | undefined;
  nowMs(): number;
  log: Logger;
  /** The HA term rule (agent/term-fence.ts): a StartTask or StopTask of a deposed leader is dropped. Absent: every term accepted. */
  fence?: Pick<TermFence, 'admit'>;
}

export interface AgentCommands {
  /** One command from the scheduler. */
  handle(msg: SchedulerMessage__Output): void;
  /** A task update from the runner (runner.onUpdate): sent on, and noted for a start in flight. */
  taskUpdated(t: TaskStatus): void;
}

/** A task's status as the wire carries it. */
export const taskView = (t: TaskStatus): TaskStatusView => ({
  jobId: t.jobId,
  rank: t.rank,
  epoch: t.epoch,
  state: t.state,
  exitCode: t.exitCode,
  signal: t.signal,
  startedMs: t.startedMs,
  finishedMs: t.finishedMs,
  message: t.message,
  checkpointMs: t.checkpointMs,
  // Only a finished rank says how it ended and what it used.
  ...(t.state === 'exited' && t.endedBy ? { endedBy: t.endedBy } : {}),
  ...(t.state === 'exited' && t.usage ? { usage: { ...t.usage } } : {}),
});

/** StartTask's GPUs, deadline and limits as the runner's TaskSpec fields (throws InvalidArgumentError naming the field). */
export function taskLimits(st: NonNullable<SchedulerMessage__Output['startTask']>): Pick<TaskSpec, 'gpus' | 'deadlineMs' | 'resources'> {
  const l: StartTaskLimits = startTaskLimitsFromPb(st, 'startTask');
  return { gpus: l.gpus, ...(l.deadlineMs !== undefined ? { deadlineMs: l.deadlineMs } : {}), ...(l.resources ? { resources: { ...l.resources } } : {}) };
}


export function createAgentCommands(deps: CommandDeps): AgentCommands {
  const { runner, log } = deps;
  /**
   * Starts in flight, with the last state runner.onUpdate reported for each: start()'s own answer
   * is sent only when it says something new (a 512-rank gang's starts were each reported twice).
   */
  const startsInFlight = new Map<string, string>();

  const startTask = (st: NonNullable<SchedulerMessage__Output['startTask']>): void => {
    const key = { jobId: st.jobId, rank: st.rank, epoch: st.epoch };
    const ks = taskKeyString(key);
    if (!startsInFlight.has(ks)) startsInFlight.set(ks, '');
    // The scheduler computes the rank's environment; the HCAs nearest its GPUs are known only here.
    const inventory = deps.inventory();
    const hcas = inventory && !('NCCL_IB_HCA' in st.env) ? nearestHcas(inventory, st.gpus) : [];
    const env = hcas.length > 0 ? { ...st.env, NCCL_IB_HCA: hcas.join(',') } : st.env;
    let target: ReturnType<typeof serviceSloFromPb>;
    try {
      target = serviceSloFromPb(st.slo, 'startTask.slo');
    } catch (e) {
      log.warn({ job: st.jobId, rank: st.rank, err: (e as Error).message }, 'ignoring an invalid SLO; the task runs unscraped');
    }
    // Bad limits (a negative deadline, an absurd memory limit) refuse the start like a bad workdir does.
    Promise.resolve()
      .then(() => runner.start({ ...key, command: st.command, env, workdir: st.workdir, runAs: st.runAs, graceSeconds: st.graceSeconds, ...(target ? { slo: target } : {}), ...taskLimits(st) }))
      // The status start() settles on is reported too, unless onUpdate just reported that state
      // (the scheduler takes repeats in its stride: a start of a known task answers with its state).
      .then((status) => {
        const seen = startsInFlight.get(ks);
        startsInFlight.delete(ks);
        if (target && (status.state === 'starting' || status.state === 'running')) deps.slo()?.track({ ...key, ...target });
        if (seen !== status.state) deps.replies()?.sendTaskUpdate(taskView(status));
      })
      .catch((e: unknown) => {
        startsInFlight.delete(ks);
        // Refused before it ran (bad runAs, workdir...): tell the scheduler, which fails or requeues
        // the gang. A refused account carries its code: the scheduler fails the job without retrying.
        log.warn({ job: st.jobId, rank: st.rank, err: (e as Error).message }, 'task refused');
        // So does a prolog that failed on this node: the scheduler requeues the job elsewhere without a retry.
        const refusal = e instanceof RunAsRefusedError || e instanceof PrologFailedError ? { refusal: e.refusal } : {};
        deps.replies()?.sendTaskUpdate({ ...key, state: 'failed-to-start', exitCode: null, signal: null, startedMs: 0, finishedMs: deps.nowMs(), message: isGantryError(e) ? e.message : String(e), ...refusal });
      });
  };

  const readLog = (rl: NonNullable<SchedulerMessage__Output['readLog']>): void => {
    const target = rl.epoch > 0 ? { jobId: rl.jobId, rank: rl.rank, epoch: rl.epoch } : { jobId: rl.jobId, rank: rl.rank };
    runner.readLog(target, { offset: rl.offset, maxBytes: rl.maxBytes || 65536 }).then(
      (c) => deps.replies()?.sendLogChunk({ requestId: rl.requestId, data: c.data, nextOffset: c.nextOffset, eof: c.eof, error: '' }),
      (e: unknown) => deps.replies()?.sendLogChunk({ requestId: rl.requestId, data: '', nextOffset: rl.offset, eof: true, error: (e as Error).message }),
    );
  };

  const latencyPeers = (lp: NonNullable<SchedulerMessage__Output['latencyPeers']>): void => {
    try {
      deps.latency()?.setPeers(latencyPeersFromPb(lp, 'latencyPeers'));
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'latency peers refused');
    }
  };

  const stopTask = (st: NonNullable<SchedulerMessage__Output['stopTask']>): void => {
    runner
      .stop({ jobId: st.jobId, rank: st.rank, epoch: st.epoch }, st.graceSeconds, st.reason)
      .catch((e: unknown) => log.warn({ job: st.jobId, rank: st.rank, err: (e as Error).message }, 'stop failed'));
  };

  return {
    handle(msg) {
      // A deposed leader's StartTask or StopTask is dropped, not answered: it must not be acted upon.
      const termed = msg.startTask ? { m: msg.startTask, what: 'start-task' as const } : msg.stopTask ? { m: msg.stopTask, what: 'stop-task' as const } : undefined;
      if (termed && deps.fence && !deps.fence.admit(Number(termed.m.term ?? 0), termed.what, { job: termed.m.jobId, rank: termed.m.rank, epoch: termed.m.epoch })) return;
      if (msg.startTask) startTask(msg.startTask);
      else if (msg.readLog) readLog(msg.readLog);
      else if (msg.latencyPeers) latencyPeers(msg.latencyPeers);
      else if (msg.stopTask) stopTask(msg.stopTask);
      else if (msg.runDiagnostic) {
        const rd = msg.runDiagnostic;
        void deps.diagnose?.(rd.requestId, rd.reason).catch((e: unknown) => log.error({ err: (e as Error).message }, 'the node diagnostic failed to run'));
      }
    },
    taskUpdated(t) {
      const ks = taskKeyString(t);
      if (startsInFlight.has(ks)) startsInFlight.set(ks, t.state);
      deps.replies()?.sendTaskUpdate(taskView(t));
    },
  };
}
