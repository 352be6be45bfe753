/**
 * Process and process-group liveness for the runner and the supervisor. kill(pid, 0) alone is not
 * enough: it succeeds for zombies (a killed rank's children reparented to an init that does not
 * reap them) and for a pid reused by an unrelated process. So on Linux /proc is read: a zombie
 * counts as gone, and a supervisor is recognised by its command line naming its task directory.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const HAVE_PROC = existsSync('/proc/self/stat');

/** What /proc/<pid>/stat says of a process. */
export interface ProcStat {
  state: string;
  ppid: number;
  pgrp: number;
  /** CPU time used so far, user + system, in clock ticks (USER_HZ: 100 a second on Linux). */
  cpuTicks: number;
  /** The user and system parts of cpuTicks. */
  userTicks: number;
  systemTicks: number;
  /** When the process started, in clock ticks after boot: with the pid, it names one process for good. */
  startTicks: number;
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). Pure. */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const rest = text.slice(close + 2).split(' ');
  const state = rest[0];
  const ppid = Number(rest[1]);
  const pgrp = Number(rest[2]);
  const userTicks = Number(rest[11]); // utime
  const systemTicks = Number(rest[12]); // stime
  const cpuTicks = userTicks + systemTicks;
  const startTicks = Number(rest[19]);
  if (!state || !Number.isInteger(ppid) || !Number.isInteger(pgrp) || !Number.isInteger(cpuTicks) || !Number.isInteger(startTicks)) return undefined;
  return { state, ppid, pgrp, cpuTicks, userTicks, systemTicks, startTicks };
}

function readStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function killZero(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether pid is a live (non-zombie) process; with argvMatches, its command line must satisfy it. */
export function processAlive(pid: number, argvMatches?: (argv: string[]) => boolean): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (!HAVE_PROC) return killZero(pid);
  const st = readStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  if (argvMatches === undefined) return true;
  try {
    return argvMatches(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
  } catch {
    return false;
  }
}

/**
 * The start time (clock ticks after boot) of a live, non-zombie process; undefined when it is gone,
 * a zombie, or /proc is missing. The same pid with the same start time is the same process, so a
 * process recognised once by its command line need not be read again (the runner's polls).
 */
export function processStartTicks(pid: number): number | undefined {
  if (!HAVE_PROC || !Number.isInteger(pid) || pid <= 0) return undefined;
  const st = readStat(pid);
  return !st || st.state === 'Z' || st.state === 'X' ? undefined : st.startTicks;
}

/** Live (non-zombie) members of a process group. Without /proc: [pgid] when kill(-pgid, 0) succeeds. */
export function groupMembers(pgid: number): number[] {
  if (!Number.isInteger(pgid) || pgid <= 1) return [];
  if (!killZero(-pgid)) return [];
  if (!HAVE_PROC) return [pgid];
  const out: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [pgid];
  }
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(name);
    const st = readStat(pid);
    if (st && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X') out.push(pid);
  }
  return out;
}

export function groupAlive(pgid: number): boolean {
  return groupMembers(pgid).length > 0;
}

/** Sends sig to the whole group; false when the group no longer exists. */
export function signalGroup(pgid: number, sig: NodeJS.Signals): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

export function signalPid(pid: number, sig: NodeJS.Signals): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}
