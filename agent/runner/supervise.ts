/**
 * The supervising itself, for supervisor.ts (cold and warm): one rank from spec.json to exit.json
 * (see supervisor.ts for what it does, and docs/runner.md). Also the switch of what SIGTERM and
 * SIGINT do, shared with a warm supervisor's idle wait.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { appendFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { FILES } from './layout.js';
import { groupAlive, signalGroup } from './procfs.js';
import {
  RECORD_VERSION,
  readJsonSync,
  writeJsonAtomicSync,
  type ExitRecord,
  type SpecRecord,
  type StatusRecord,
  type StopRecord,
} from './records.js';
import { RotatingLogWriter } from './rotating-log.js';
import {
  CGROUP_EMPTY_CAP_MS,
  cgroupPids,
  attachDevices,
  cgroupRecordOf,
  describeFault,
  joinCgroups,
  killCgroup,
  signalCgroup,
  timedOutBeforeStartMessage,
  timedOutMessage,
} from './rank-cgroup.js';

const SETTLE_POLL_MS = 25;
export const CHECKPOINT_MARKER = 'GANTRY_CHECKPOINT';
/** After the rank's main process exits and its group is SIGKILLed, how long to wait for pipes to drain. */
const DRAIN_CAP_MS = 5000;

function describeSpawnError(cmd: string, err: NodeJS.ErrnoException): string {
  const why: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    ENOEXEC: 'exec format error',
    EPERM: 'operation not permitted',
  };
  const code = err.code ?? 'error';
  if (code === 'EACCES' && !cmd.includes('/')) {
    // execvp reports EACCES when some PATH directory is not searchable by the rank's user.
    return `cannot execute ${JSON.stringify(cmd)}: not found on PATH, or not executable by the rank's user (${code})`;
  }
  return `cannot execute ${JSON.stringify(cmd)}: ${why[code] ?? err.message} (${code})`;
}

/**
 * What SIGTERM and SIGINT do now: an idle warm supervisor exits, a supervising one stops its rank.
 * The listeners are installed once and switched through this, not removed and added again (each
 * removal and addition of a signal's last listener costs a signal handle, on the hand-off's path).
 */
let onStopSignal: () => void = () => process.exit(0);
let signalsInstalled = false;
/** From now on SIGTERM and SIGINT call fn (the listeners are installed on the first call). */
export function onStopSignals(fn: () => void): void {
  onStopSignal = fn;
  listenForSignals();
}
function listenForSignals(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  process.on('SIGTERM', () => onStopSignal());
  process.on('SIGINT', () => onStopSignal());
  process.on('SIGHUP', () => undefined);
}

/** The IPC side of a warm supervisor during its hand-off; absent for a cold one. */
export interface Handoff {
  /** The rank runs (status.json written): tell the runner, then drop the channel. */
  started(status: StatusRecord): void;
}

/**
 * Supervises the task in dir until the rank's exit is recorded, then exits the process.
 *
 * Parenthesised on purpose: V8 compiles a parenthesised function expression when the module
 * loads instead of at its first call, which would otherwise be on a warm supervisor's hand-off
 * path (≈ 0.5 ms of CPU per rank, measured).
 */
export const supervise = (function supervise(dir: string, handoff: Handoff | undefined): void {
  const file = (name: string): string => path.join(dir, name);
  // A cold supervisor's stdout and stderr are supervisor.log already; a warm one appends to it.
  const diag = (text: string): void => {
    if (!handoff) {
      process.stderr.write(text);
      return;
    }
    try {
      appendFileSync(file(FILES.supervisorLog), text, { mode: 0o640 });
    } catch {
      process.stderr.write(text);
    }
  };

  let child: ChildProcess | undefined;
  let pgid = 0;
  let stopping = false;
  let killTimer: NodeJS.Timeout | undefined;
  let finished = false;
  let timedOut = false;
  let log: RotatingLogWriter | undefined;

  const writeExit = (rec: Omit<ExitRecord, 'version' | 'writer' | 'finishedMs'>): void => {
    if (finished) return;
    finished = true;
    try {
      log?.close();
    } catch {
      // the record matters more than the log
    }
    const rec2: ExitRecord = { version: RECORD_VERSION, writer: 'supervisor', finishedMs: Date.now(), ...rec, ...(timedOut ? { timedOut } : {}) };
    writeJsonAtomicSync(file(FILES.exit), rec2);
  };

  const stopRecord = (): StopRecord | undefined => {
    try {
      return readJsonSync<StopRecord>(file(FILES.stop));
    } catch {
      return undefined;
    }
  };

  /** What a crash of this supervisor kills: the group, and the rank's cgroups once they are known. */
  let crashKill = (): void => {
    if (pgid) signalGroup(pgid, 'SIGKILL');
  };
  process.on('uncaughtException', (err) => {
    diag(`supervisor error: ${err.stack ?? String(err)}\n`);
    crashKill();
    try {
      writeExit({ failedToStart: pgid === 0, code: null, signal: null, message: `supervisor error: ${err.message}` });
    } finally {
      process.exit(1);
    }
  });

  if (!handoff) process.chdir('/'); // a warm one did at boot
  // What the directory holds, in one look (cheaper than asking for each record that is usually absent).
  let present: Set<string>;
  try {
    present = new Set(readdirSync(dir));
  } catch {
    present = new Set();
  }
  const spec = present.has(FILES.spec) ? readJsonSync<SpecRecord>(file(FILES.spec)) : undefined;
  if (!spec) {
    diag(`no ${FILES.spec} in ${dir}\n`);
    process.exit(2);
  }
  // Never run a rank twice: a task that already started (or finished) is left alone.
  if (present.has(FILES.exit) || present.has(FILES.status)) {
    diag(`${dir} already started; not running it again\n`);
    process.exit(0);
  }

  const cg = cgroupRecordOf(spec);
  const quit = (failedToStart: boolean, message: string): never => {
    writeExit({ failedToStart, code: null, signal: null, message });
    process.exit(0);
  };
  if (typeof cg === 'string') quit(true, cg);
  const cgroup = typeof cg === 'object' ? cg : undefined;
  const superFault = cgroup && joinCgroups(cgroup.supervisor, process.pid);
  if (superFault) quit(true, `cannot move the supervisor into its cgroup: ${describeFault(superFault)}`);
  // The gantry-devices helper sits beside this file in dist/ (built by build-native from C).
  const devFault = cgroup?.devices && attachDevices(cgroup.devices, path.join(import.meta.dirname, 'gantry-devices'));
  if (devFault) quit(true, `cannot limit the rank's devices: ${devFault}`);
  let cgKilledMs = 0;
  /** SIGKILL to the group and (once) everything in the rank's cgroups. */
  const killAll = (): void => {
    signalGroup(pgid, 'SIGKILL');
    if (cgroup && cgKilledMs === 0) {
      killCgroup(cgroup);
      cgKilledMs = Date.now();
    }
  };
  if (cgroup) crashKill = killAll;
  /** Whether the rank's cgroups still hold a process (given up CGROUP_EMPTY_CAP_MS after their kill). */
  const cgroupBusy = (): boolean => {
    if (!cgroup || cgroupPids(cgroup.rank).length === 0) return false;
    if (cgKilledMs > 0 && Date.now() - cgKilledMs > CGROUP_EMPTY_CAP_MS) {
      if (cgKilledMs > 1) diag(`the rank's cgroups still hold processes ${CGROUP_EMPTY_CAP_MS} ms after their kill; recording the exit anyway\n`);
      cgKilledMs = 1;
      return false;
    }
    return true;
  };
  /** SIGTERM to the group and everything in the rank's cgroups, SIGKILL to all after the grace. */
  const beginStop = (): void => {
    signalGroup(pgid, 'SIGTERM');
    if (cgroup) signalCgroup(cgroup.rank, 'SIGTERM');
    killTimer = setTimeout(killAll, graceMs);
  };

  let graceMs = spec.graceSeconds * 1000;
  const onTerm = (): void => {
    if (stopping) return;
    stopping = true;
    const stop = stopRecord();
    if (stop) graceMs = stop.graceSeconds * 1000;
    if (!pgid) return; // not spawned yet: the spawn below sees `stopping`
    beginStop();
  };
  onStopSignals(onTerm);

  // Read again rather than taken from `present`: the runner writes stop.json before it signals.
  const preStop = stopRecord();
  if (preStop) {
    writeExit({ failedToStart: false, code: null, signal: null, message: `stopped before the rank started: ${preStop.reason}` });
    process.exit(0);
  }
  const deadlineMs = typeof spec.deadlineMs === 'number' && spec.deadlineMs > 0 ? spec.deadlineMs : 0;
  if (deadlineMs > 0 && Date.now() >= deadlineMs) {
    timedOut = true;
    quit(false, timedOutBeforeStartMessage(deadlineMs));
  }

  log = new RotatingLogWriter(dir, spec.logMaxBytes, spec.logKeep);
  const opts: SpawnOptions = { cwd: spec.workdir, env: spec.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] };
  if (spec.user && (spec.user.uid !== process.getuid?.() || spec.user.gid !== process.getgid?.())) {
    opts.uid = spec.user.uid;
    opts.gid = spec.user.gid;
  }
  const [cmd, ...args] = spec.command;
  const failToStart = (err: NodeJS.ErrnoException): void => {
    writeExit({ failedToStart: true, code: null, signal: null, message: describeSpawnError(cmd ?? '', err) });
    process.exit(0);
  };
  // The rank is born inside its cgroups: this process joins them for the spawn, then leaves.
  const rankFault = cgroup && joinCgroups(cgroup.rank, process.pid);
  if (rankFault) {
    if (cgroup) joinCgroups(cgroup.supervisor, process.pid);
    quit(true, `cannot move the rank into its cgroup: ${describeFault(rankFault)}`);
  }
  try {
    child = spawn(cmd ?? '', args, opts);
  } catch (e) {
    if (cgroup) joinCgroups(cgroup.supervisor, process.pid);
    failToStart(e as NodeJS.ErrnoException);
    return;
  }
  const backFault = cgroup && joinCgroups(cgroup.supervisor, process.pid);
  if (backFault) {
    // Never left supervising from inside the rank's cgroups (a kill there would take us too).
    if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    quit(true, `cannot move the supervisor back into its cgroup after starting the rank: ${describeFault(backFault)}`);
  }
  child.once('error', (err: NodeJS.ErrnoException) => {
    if (!pgid) failToStart(err);
  });
  if (child.pid === undefined) return; // 'error' follows
  pgid = child.pid;
  const status: StatusRecord = { version: RECORD_VERSION, supervisorPid: process.pid, pid: child.pid, pgid, startedMs: Date.now() };
  writeJsonAtomicSync(file(FILES.status), status);
  handoff?.started(status);

  let openStreams = 0;
  // A rank says it saved a checkpoint with a stdout line containing GANTRY_CHECKPOINT; the runner
  // reads checkpoint.json and the scheduler counts preemption's lost work from then.
  let lastCheckpointMs = 0;
  const onData = (b: Buffer): void => {
    if (b.includes(CHECKPOINT_MARKER)) {
      const ms = Date.now();
      if (ms - lastCheckpointMs >= 1000) {
        lastCheckpointMs = ms;
        try {
          writeJsonAtomicSync(file(FILES.checkpoint), { version: RECORD_VERSION, ms });
        } catch {
          // best effort: a missed checkpoint only makes preemption count more lost work
        }
      }
    }
    try {
      log?.write(b);
    } catch (e) {
      // Disk full or similar: keep draining so the rank never blocks on a full pipe.
      diag(`log write failed: ${(e as Error).message}\n`);
    }
  };
  for (const s of [child.stdout, child.stderr]) {
    if (!s) continue;
    openStreams++;
    s.on('data', onData);
    s.once('close', () => openStreams--);
  }
  if (stopping) beginStop(); // SIGTERM arrived while spawning
  // The job's time limit: a stop with the spec's grace, recorded as timed out. Re-armed in steps
  // (setTimeout holds at most 2^31-1 ms, and the wall clock may be stepped).
  const watchDeadline = (): void => {
    if (stopping || deadlineMs === 0) return;
    const left = deadlineMs - Date.now();
    if (left > 0) {
      setTimeout(watchDeadline, Math.min(left, 60_000)).unref();
      return;
    }
    stopping = true;
    timedOut = true;
    beginStop();
  };
  watchDeadline();

  child.once('exit', (code, signal) => {
    // Leftovers of a rank that exited by itself die now; during a stop they get the rest of the grace.
    if (!stopping) killAll();
    let drainDeadline = 0;
    const settle = (): void => {
      const alive = groupAlive(pgid) || cgroupBusy();
      if (!alive && drainDeadline === 0) drainDeadline = Date.now() + DRAIN_CAP_MS;
      if (alive || (openStreams > 0 && Date.now() < drainDeadline)) {
        setTimeout(settle, SETTLE_POLL_MS);
        return;
      }
      if (killTimer) clearTimeout(killTimer);
      child?.stdout?.destroy();
      child?.stderr?.destroy();
      const stop = stopping ? stopRecord() : undefined;
      const how = signal ? `killed by ${signal}` : `exited with code ${code ?? 'unknown'}`;
      const message = timedOut ? timedOutMessage(deadlineMs, how) : stopping ? `stopped (${stop?.reason ?? 'SIGTERM to the supervisor'}); ${how}` : how;
      writeExit({ failedToStart: false, code: signal ? null : code, signal: signal ?? null, message });
      process.exit(0);
    };
    settle();
  });
});
