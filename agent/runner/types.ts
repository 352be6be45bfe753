/** Types of the agent's rank runner (agent/runner): what a task is, what it runs, how it is doing. */
import type { RankContainment } from './cgroup/types.js';

/** One rank of one epoch of one job on this node. A new epoch of the same rank is a different task. */
export interface TaskKey {
  jobId: string;
  rank: number;
  epoch: number;
}

/**
 * What the agent's SLO scraper needs for a rank that serves an inference replica's metrics
 * (StartTask.slo). Kept in the task's spec.json so an agent restarted while the rank runs scrapes
 * it again after adopting it.
 */
export interface TaskSlo {
  /** The service its windows name (on `gantry.telemetry.service.<node>`): the job id. */
  service: string;
  /** Prometheus histogram name. */
  metric: string;
  /** The replica serves http://127.0.0.1:<port>/metrics. */
  port: number;
  /** Scrape and publish period; 0: the agent's slo.scrapeIntervalMs. */
  windowMs: number;
  /** The replica (unit) index. */
  replica: number;
}

/** What the scheduler asks the agent to run for one task (StartTask on the wire). */
export type TaskSpec = TaskKey & {
  /** argv; command[0] is looked up on the rank's PATH. */
  command: string[];
  /** Computed by the scheduler (RANK, WORLD_SIZE, ...); PATH, HOME, USER and LOGNAME are added. */
  env: Record<string, string>;
  /** Absolute path of an existing directory; empty: the user's home directory if it exists, else `/`. */
  workdir: string;
  /** User name from the agent's allowed list; empty: the agent's own user. */
  runAs: string;
  /** SIGTERM-to-SIGKILL grace when the supervisor is told to stop without an explicit grace. */
  graceSeconds: number;
  /** Set for a rank whose replica's latency histogram the agent scrapes; recorded in spec.json. */
  slo?: TaskSlo;
  /** GPU indexes of this node the rank uses (StartTask.gpus): its device files and its cpuset follow them. */
  gpus?: number[];
  /** Unix ms at which the rank is stopped for the job's time limit; absent or 0: none. */
  deadlineMs?: number;
  /** What the rank is limited to (job spec `resources`); absent: the agent's defaults. */
  resources?: TaskResources;
};

/** Per-rank limits from the job spec (`resources.*`). */
export interface TaskResources {
  /** `resources.memoryGiBPerRank` in bytes; 0: the agent's default (unlimited unless configured). */
  memoryBytes: number;
  /** `resources.maxProcesses`; 0: the agent's default (unlimited unless configured). */
  maxProcesses: number;
  /** `resources.cpuBinding`: 'numa' (default: the NUMA node of the rank's GPUs) or 'none'. */
  cpuBinding: 'numa' | 'none';
}

/** How a finished rank ended, when it was not simply its own exit. */
export type TaskEndCause = 'timeout' | 'oom' | 'stopped';

/** What was measured of a finished rank (from its cgroups); null where not measured. */
export interface TaskUsage {
  cpuUsec: number | null;
  memoryPeakBytes: number | null;
  oomKills: number | null;
}

export type TaskState = 'starting' | 'running' | 'exited' | 'failed-to-start';

export type TaskStatus = TaskKey & {
  state: TaskState;
  /** Exit code when the rank exited by itself; null while running or when killed by a signal. */
  exitCode: number | null;
  /** Signal name (e.g. `SIGKILL`) when the rank was killed by a signal. */
  signal: string | null;
  /** Unix ms the rank process was spawned (0 before that). */
  startedMs: number;
  /** Unix ms the exit was recorded (0 while not finished). */
  finishedMs: number;
  /** Human-readable detail: why it failed to start, why it was stopped, how it ended. */
  message: string;
  /** The rank's pid (also its process-group id), null before it started. */
  pid: number | null;
  /** Last checkpoint the rank reported (unix ms; 0: none). */
  checkpointMs: number;
  /** Set on a finished rank that hit its time limit ('timeout'), its memory limit ('oom'), or was stopped. */
  endedBy?: TaskEndCause;
  /** Set on a finished rank that ran in cgroups. */
  usage?: TaskUsage;
};

/** A starting or running task's GPUs and account (TaskRunner.holdings, for metrics.jobLabels). */
export type TaskHolding = TaskKey & {
  /** GPU indexes of this node; empty for a rank without GPUs, or one recorded before spec.json kept them. */
  gpus: number[];
  /** The account the rank runs as (resolved: the agent's own user for an empty runAs). */
  owner: string;
};

/** A rank's log position: `{jobId, rank}` reads the latest epoch of that rank. */
export type LogTarget = TaskKey | { jobId: string; rank: number; epoch?: number };

export interface ReadLogOptions {
  /** Byte offset in the rank's whole output (stable across rotation); default 0. */
  offset?: number;
  /** At most this many bytes; default 65536, at most 4 MiB. */
  maxBytes?: number;
}

export interface LogChunk {
  /** UTF-8 text; a multi-byte character split by maxBytes is left for the next read. */
  data: string;
  /** Offset to pass next time; if the asked offset was already rotated away, data starts at the oldest byte kept. */
  nextOffset: number;
  /** True when nextOffset is the end of what the rank has written so far. */
  eof: boolean;
}

export interface TaskRunnerOptions {
  /** Root of the runner's state; tasks live under `<stateDir>/tasks/`. */
  stateDir: string;
  /** Users ranks may run as (the job's `runAs`). */
  allowedUsers: string[];
  /** Whether ranks may run as root (uid 0), including an empty runAs when the agent runs as root. */
  allowRoot: boolean;
  /** Size at which a rank's log is rotated. */
  logMaxBytes: number;
  /** Rotated files kept (log.1 .. log.N). */
  logKeep: number;
  /** Poll interval for exits of running tasks; default 500 ms. */
  pollMs?: number;
  /** The compiled Node supervisor; default dist/agent/runner/supervisor.js. */
  supervisorPath?: string;
  /**
   * Which supervisor runs ranks: 'native' (gantry-supervisor, the C build, forked by one launcher
   * process per runner), 'node' (supervisor.js, warm or cold), or 'auto' (default): native when
   * its binary was built, else node.
   */
  supervisor?: 'auto' | 'native' | 'node';
  /** The native supervisor binary; default dist/agent/runner/gantry-supervisor. */
  nativeSupervisorPath?: string;
  /** Clock for records the runner writes itself; default Date.now. */
  now?: () => number;
  /** How long start() waits for the supervisor's first record before returning 'starting'; default 10000 ms. */
  startWaitMs?: number;
  /**
   * Idle, already booted supervisors kept ready (spawned by adopt(), refilled once starts go
   * quiet); a start takes one instead of booting a node process. Default 0: every start spawns
   * its supervisor (cold).
   */
  warmSupervisors?: number;
  /** How long after the last start (or a warm supervisor's loss) the pool is refilled; default 5000 ms. */
  warmRefillDelayMs?: number;
  /**
   * The ranks' cgroups (agent/runner/cgroup): prepared before each start (its record goes into
   * spec.json `cgroup`), measured when a rank ends, killed by the runner's own last-resort kills,
   * released at forget. Default: none, ranks run uncontained.
   */
  containment?: RankContainment;
}

/** The warm supervisor pool (TaskRunner.warmPool). */
export interface WarmPoolStatus {
  /** Booted and waiting for a task. */
  ready: number;
  /** Spawned, not yet ready. */
  booting: number;
  /** Tasks handed to a warm supervisor since the runner was created. */
  used: number;
  /** Starts that spawned a cold supervisor since the runner was created (none ready, or a refusal). */
  cold: number;
  /** Starts handed to the native supervisor's launcher since the runner was created. */
  native: number;
}

export interface TaskRunner {
  /** At agent start: re-watch tasks whose supervisor still runs; report those that finished meanwhile. */
  adopt(): Promise<TaskStatus[]>;
  /** Starts a rank (idempotent per key). Throws InvalidArgumentError naming the bad field. */
  start(spec: TaskSpec): Promise<TaskStatus>;
  /** SIGTERM to the rank's process group, SIGKILL after graceSeconds; resolves when it is gone. */
  stop(key: TaskKey, graceSeconds: number, reason: string): Promise<void>;
  /** Stops every starting or running task for which keep() is false; resolves with the keys stopped. */
  fence(keep: (key: TaskKey) => boolean, graceSeconds: number): Promise<TaskKey[]>;
  /** Every task known (running and finished but not forgotten), ordered by job, rank, epoch. */
  list(): TaskStatus[];
  get(key: TaskKey): TaskStatus | undefined;
  /**
   * The starting and running tasks with the GPUs they hold (StartTask.gpus, kept in spec.json, so
   * also for adopted tasks) and the account they run as; ordered by job, rank, epoch.
   */
  holdings(): TaskHolding[];
  /** The SLO scrape target recorded with a known task (also for tasks adopted from disk), if any. */
  sloOf(key: TaskKey): TaskSlo | undefined;
  /** Reads the checkpoints running ranks reported; tasks with a newer one are updated and notified. */
  refreshCheckpoints(): Promise<TaskStatus[]>;
  /** Called on every state change after start: running, exited, failed-to-start (and new checkpoints). */
  onUpdate(cb: (s: TaskStatus) => void): () => void;
  /** Drops a finished task's state (its logs stay until cleanup). Throws FailedPreconditionError while it runs. */
  forget(key: TaskKey): Promise<void>;
  /** Deletes logs of forgotten tasks not written for olderThanMs; resolves with the number of task dirs removed. */
  cleanup(olderThanMs: number): Promise<number>;
  readLog(target: LogTarget, opts?: ReadLogOptions): Promise<LogChunk>;
  /** The warm supervisor pool: how many are ready or booting, how many starts used one. */
  warmPool(): WarmPoolStatus;
  /** Stops watching; ranks keep running. Idle warm supervisors exit. */
  close(): Promise<void>;
}
