/**
 * Where a task's files live (pure path arithmetic; no I/O):
 * <stateDir>/tasks/<jobId>/<rank>/<epoch>/{spec.json,launch.json,status.json,stop.json,exit.json,log,log.1..log.N,log.json,supervisor.log}
 */
import path from 'node:path';
import type { TaskKey } from './types.js';

export const FILES = {
  /** What to run, written by the runner before the supervisor starts. Its absence marks a forgotten task. */
  spec: 'spec.json',
  /** The last checkpoint the rank reported (a stdout line containing GANTRY_CHECKPOINT), written by the supervisor. */
  checkpoint: 'checkpoint.json',
  /** The supervisor's pid: written by the runner right after spawning a Node one, by a native one itself. */
  launch: 'launch.json',
  /** Rank pid, process group and start time, written by the supervisor once the rank runs. */
  status: 'status.json',
  /** A stop request (reason, grace), written by the runner before it signals the supervisor. */
  stop: 'stop.json',
  /** The exit record (code, signal, time), written by the supervisor (or by the runner when the supervisor died). */
  exit: 'exit.json',
  /** The rank's stdout and stderr; rotated copies are log.1 (newest) .. log.N. */
  log: 'log',
  /** Where the current log starts in the rank's whole output (seq-locked across rotation). */
  logIndex: 'log.json',
  /** The supervisor's own stdout and stderr. */
  supervisorLog: 'supervisor.log',
} as const;

export function tasksRoot(stateDir: string): string {
  return path.join(stateDir, 'tasks');
}

export function rankDir(stateDir: string, jobId: string, rank: number): string {
  return path.join(tasksRoot(stateDir), jobId, String(rank));
}

export function taskDir(stateDir: string, key: TaskKey): string {
  return path.join(rankDir(stateDir, key.jobId, key.rank), String(key.epoch));
}

export function rotatedLogName(i: number): string {
  return `${FILES.log}.${i}`;
}
