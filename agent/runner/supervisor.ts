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
 * The supervising itself is in supervise.ts; here: the warm mode and main.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FILES } from './layout.js';
import { RECORD_VERSION, readJsonSync, writeJsonAtomicSync } from './records.js';
import { RotatingLogWriter } from './rotating-log.js';
import { CHECKPOINT_MARKER, onStopSignals, supervise } from './supervise.js';

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
  onStopSignals(idleExit);
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
