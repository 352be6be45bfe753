/**
 * The supervisor's side of a rank's cgroups (spec.json `cgroup`, made by the runner's
 * RankContainment): joining them, listing and signalling what is in them, killing it all, and
 * the time limit's wording. Synchronous on purpose: the Node supervisor (supervisor.ts) uses these
 * around its spawn and in its exit path, where nothing else may run in between. The native
 * supervisor does the same in C (gantry-supervisor.c).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { SpecCgroupRecord, SpecDevicesRecord } from './records.js';

/** After cgroup.kill (or SIGKILL to every pid listed), how long the supervisor waits for the rank's cgroups to empty. */
export const CGROUP_EMPTY_CAP_MS = 5000;

/** A write to a cgroup file that failed: which file, and the errno's code. */
export interface CgroupFault {
  file: string;
  code: string;
  message: string;
}

/** The pids a cgroup.procs file lists (pure). */
export function parseCgroupProcs(text: string): number[] {
  const out: number[] = [];
  for (const word of text.split(/\s+/)) {
    if (word === '') continue;
    const pid = Number(word);
    if (Number.isSafeInteger(pid) && pid > 0) out.push(pid);
  }
  return out;
}

/**
 * The cgroup record of a spec.json, checked (pure): undefined when there is none; a string naming
 * what is wrong when it is malformed (then the rank must not run: containment was asked for).
 */
export function cgroupRecordOf(spec: { cgroup?: unknown }): SpecCgroupRecord | undefined | string {
  const cg = spec.cgroup;
  if (cg === undefined || cg === null) return undefined;
  const bad = "the task's spec.json has a cgroup record that is not {supervisor: [dirs], rank: [dirs], killFile, devices?: {dir, rules: [rules]}}";
  if (typeof cg !== 'object' || Array.isArray(cg)) return bad;
  const r = cg as Record<string, unknown>;
  const dirs = (v: unknown): v is string[] => Array.isArray(v) && v.every((d) => typeof d === 'string' && path.isAbsolute(d));
  if (!dirs(r.supervisor) || !dirs(r.rank) || r.rank.length === 0) return bad;
  if (r.killFile !== null && r.killFile !== undefined && typeof r.killFile !== 'string') return bad;
  const out: SpecCgroupRecord = { supervisor: r.supervisor, rank: r.rank, killFile: typeof r.killFile === 'string' ? r.killFile : null };
  if (r.devices !== undefined && r.devices !== null) {
    const d = r.devices as Record<string, unknown>;
    if (typeof d !== 'object' || typeof d.dir !== 'string' || !path.isAbsolute(d.dir) || !Array.isArray(d.rules) || !d.rules.every((x) => typeof x === 'string')) return bad;
    out.devices = { dir: d.dir, rules: d.rules as string[], ...(typeof d.timeoutMs === 'number' && d.timeoutMs > 0 ? { timeoutMs: d.timeoutMs } : {}) };
  }
  return out;
}

/**
 * Attaches the rank leaf's device program with the gantry-devices helper (the Node supervisor's
 * way; the native supervisor links the loader in): undefined, or why it failed.
 */
export function attachDevices(devices: SpecDevicesRecord, helper: string): string | undefined {
  try {
    execFileSync(helper, ['attach', devices.dir, ...devices.rules], { timeout: devices.timeoutMs ?? 5000, killSignal: 'SIGKILL', stdio: ['ignore', 'ignore', 'pipe'] });
    return undefined;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    return (err.stderr?.toString().trim() || err.message).replace(/^gantry-devices: /, '');
  }
}

/** Writes text to an existing cgroup file (no create, no truncate): undefined, or what failed. */
export function writeCgroupFile(file: string, text: string): CgroupFault | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r+');
    writeSync(fd, text);
    return undefined;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { file, code: err.code ?? 'error', message: err.message };
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // a write error was already reported
      }
    }
  }
}

/** Moves pid (0: this process) into each dir; the first failure, or undefined. */
export function joinCgroups(dirs: readonly string[], pid: number): CgroupFault | undefined {
  for (const dir of dirs) {
    const fault = writeCgroupFile(path.join(dir, 'cgroup.procs'), String(pid));
    if (fault) return fault;
  }
  return undefined;
}

/** "write <file>: <why> (<CODE>)" for a message. */
export function describeFault(f: CgroupFault): string {
  const why = f.message.replace(/^[A-Z]+: /, '').replace(/, open '.*'$/, '').replace(/, write$/, '');
  return `write ${f.file}: ${why} (${f.code})`;
}

/** Every pid listed in the dirs' cgroup.procs (a missing dir lists none). */
export function cgroupPids(dirs: readonly string[]): number[] {
  const out: number[] = [];
  for (const dir of dirs) {
    try {
      out.push(...parseCgroupProcs(readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')));
    } catch {
      // gone: nothing in it
    }
  }
  return out;
}

/** Sends sig to every process in the dirs (never to this one). */
export function signalCgroup(dirs: readonly string[], sig: NodeJS.Signals): void {
  for (const pid of cgroupPids(dirs)) {
    if (pid === process.pid || pid <= 1) continue;
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** Every process of the rank, whatever its session: cgroup.kill when there is one, else SIGKILL to each pid listed. */
export function killCgroup(cg: SpecCgroupRecord): void {
  if (cg.killFile !== null && writeCgroupFile(cg.killFile, '1') === undefined) return;
  signalCgroup(cg.rank, 'SIGKILL');
}

/** The message of a rank stopped for its job's time limit (the supervisors' shared wording). */
export function timedOutMessage(deadlineMs: number, how: string): string {
  return `timed out: the job's time limit was reached at ${new Date(deadlineMs).toISOString()}; ${how}`;
}

/** The message of a rank whose deadline passed before it started. */
export function timedOutBeforeStartMessage(deadlineMs: number): string {
  return `timed out: the job's time limit was reached at ${new Date(deadlineMs).toISOString()}, before the rank started`;
}
