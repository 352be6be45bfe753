/**
 * The rank supervisor: `node supervisor.js <taskDir>`, spawned detached by the runner, one per rank.
 *
 * It reads spec.json from the task directory, runs the rank in its own session and process group
 * under the spec's uid/gid, streams the rank's stdout and stderr into the rotated log, records
 * status.json (pid, pgid, start time) and finally exit.json (code, signal, time), each written
 * atomically, then exits. It holds no pipe to the agent, so it and the rank outlive the agent.
 *
 * SIGTERM (or SIGINT): forward SIGTERM to the rank's group, SIGKILL the group after the grace
 * period (stop.json's graceSeconds when the runner wrote one, else the spec's). When the rank's
 * main process exits by itself, whatever it left behind in its group is SIGKILLed at once.
 *
 * With spec.json `cgroup` (rank-cgroup.ts): it first moves itself into the supervisor dirs, and
 * joins the rank dirs just around its spawn, so the rank is born inside them (Node has no pre-exec
 * hook), moving back right after: in that window of one spawn the supervisor itself counts against
 * the rank's limits (pids.max counts its threads; a v1 memory cgroup keeps what it charged).
 * Every kill (grace over, leftovers) also empties the rank dirs (cgroup.kill, else SIGKILL to each
 * pid) and exit.json waits, bounded, until they are empty. With spec.json `deadlineMs` the rank is
 * stopped at that time as if told to, and exit.json says timedOut.
 *
 * Warm mode, `node supervisor.js --warm <tasksRoot> <padding>`: spawned ahead of time by the runner
 * (detached, with an IPC channel), it boots and says {op:'ready'}, then waits. The runner hands it
 * a task with {op:'run', dir}; it renames itself (process.title, so /proc/<pid>/cmdline names
 * the task directory as a cold supervisor's argv does; the padding argument makes room), says
 * {op:'started', status} once the rank runs, disconnects, and from then on is exactly the
 * detached per-rank supervisor above. An idle warm supervisor exits when its channel closes (the
 * agent is gone or closed its runner) or on SIGTERM/SIGINT. When the title does not fit it says
 * {op:'refused'} and exits; the runner then spawns a cold supervisor for the task. Any other
 * message is ignored (the runner sends {op:'rehearse'} after 'ready', so Node's IPC receive path
 * is compiled while idle rather than on the hand-off).
 *
 * Kept small on purpose: node built-ins and a few sibling modules, nothing that slows start-up.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
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
  cgroupRecordOf,
  describeFault,
  joinCgroups,
  killCgroup,
  signalCgroup,
  timedOutBeforeStartMessage,
  timedOutMessage,
} from './rank-cgroup.js';

const SETTLE_POLL_MS = 25;
const CHECKPOINT_MARKER = 'GANTRY_CHECKPOINT';
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
function listenForSignals(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  process.on('SIGTERM', () => onStopSignal());
  process.on('SIGINT', () => onStopSignal());
  process.on('SIGHUP', () => undefined);
}

/** The IPC side of a warm supervisor during its hand-off; absent for a cold one. */
interface Handoff {
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
const supervise = (function supervise(dir: string, handoff: Handoff | undefined): void {
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

  process.on('uncaughtException', (err) => {
    diag(`supervisor error: ${err.stack ?? String(err)}\n`);
    if (pgid) signalGroup(pgid, 'SIGKILL');
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
  let cgKilledMs = 0;
  /** SIGKILL to the group and (once) everything in the rank's cgroups. */
  const killAll = (): void => {
    signalGroup(pgid, 'SIGKILL');
    if (cgroup && cgKilledMs === 0) {
      killCgroup(cgroup);
      cgKilledMs = Date.now();
    }
  };
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
  onStopSignal = onTerm;
  listenForSignals();

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

/** A warm supervisor: booted ahead of need, idle until the runner hands it a task directory. */
function warm(tasksRoot: string): void {
  process.chdir('/');
  if (typeof process.send !== 'function') {
    process.stderr.write('supervisor.js --warm needs an IPC channel to the runner\n');
    process.exit(2);
  }
  const send = (msg: object, then?: () => void): void => {
    try {
      if (process.connected) process.send!(msg, undefined, {}, () => then?.());
      else then?.();
    } catch {
      then?.();
    }
  };
  let taken = false;
  const idleExit = (): void => process.exit(0);
  // Idle: a closed channel (the agent is gone or closed its runner) or a stop signal ends it.
  // Once it has a task, the agent may go at any time: a lost channel changes nothing.
  process.on('disconnect', () => {
    if (!taken) idleExit();
  });
  onStopSignal = idleExit;
  listenForSignals();
  const onMessage = (msg: unknown): void => {
    const dir = (msg as { op?: unknown; dir?: unknown } | null)?.op === 'run' ? (msg as { dir?: unknown }).dir : undefined;
    if (typeof dir !== 'string' || !path.isAbsolute(dir) || path.dirname(path.dirname(path.dirname(dir))) !== tasksRoot) return;
    process.off('message', onMessage);
    // Named like a cold supervisor (`node supervisor.js <taskDir>`), so the runner recognises it.
    const title = `${process.execPath} ${process.argv[1] ?? 'supervisor.js'} ${dir}`;
    process.title = title;
    let shown = title;
    try {
      shown = readFileSync('/proc/self/cmdline', 'utf8').split('\0')[0] ?? '';
    } catch {
      // no /proc: the runner checks liveness by pid alone
    }
    if (shown !== title) {
      send({ op: 'refused', reason: 'process title does not fit' }, () => process.exit(0));
      return;
    }
    taken = true;
    supervise(dir, {
      started: (status) =>
        send({ op: 'started', status }, () => {
          if (process.connected) process.disconnect();
        }),
    });
  };
  process.on('message', onMessage);
  // Rehearse the hand-off while idle, so that taking a task costs only the task's own work: the
  // first use of each path (lazily compiled code, first-use set-up) is paid here. Ready either way.
  let said = false;
  const ready = (): void => {
    if (said) return;
    said = true;
    send({ op: 'ready' });
  };
  rehearseRecords();
  try {
    const pre = spawn('true', [], { cwd: '/', detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    for (const s of [pre.stdout, pre.stderr]) {
      s?.on('data', (b: Buffer) => b.includes(CHECKPOINT_MARKER));
      s?.once('close', () => undefined);
    }
    pre.once('error', ready);
    pre.once('exit', () => {
      pre.stdout?.destroy();
      pre.stderr?.destroy();
      ready();
    });
  } catch {
    ready();
  }
}

/**
 * The record and log writes a hand-off makes, done once on a scratch directory (removed after):
 * part of a warm supervisor's rehearsal. Best effort: a failure only leaves the first hand-off slower.
 */
function rehearseRecords(): void {
  let scratch: string | undefined;
  try {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'gantry-warm-'));
    path.dirname(path.dirname(scratch)); // the hand-off checks the task dir with it
    readdirSync(scratch);
    writeJsonAtomicSync(path.join(scratch, FILES.status), { version: RECORD_VERSION, rehearsal: true });
    readJsonSync(path.join(scratch, FILES.status));
    readJsonSync(path.join(scratch, FILES.stop));
    const log = new RotatingLogWriter(scratch, 1 << 20, 1);
    log.write(Buffer.from('rehearsal\n'));
    log.close();
  } catch {
    // best effort
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

function main(): void {
  if (process.argv[2] === '--warm') {
    const root = process.argv[3];
    if (!root || !path.isAbsolute(root)) {
      process.stderr.write('usage: supervisor.js --warm <absolute tasks root>\n');
      process.exit(2);
    }
    warm(root);
    return;
  }
  const dir = process.argv[2];
  if (!dir || !path.isAbsolute(dir)) {
    process.stderr.write('usage: supervisor.js <absolute task dir>\n');
    process.exit(2);
  }
  supervise(dir, undefined);
}

main();
