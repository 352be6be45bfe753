/**
 * The tasks' directories on disk as a whole: which exist (for adopt), reading a rank's log, and
 * removing forgotten ones (cleanup). One task's records are the task table's (task-table.ts).
 */
import { statSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../../shared/errors/index.js';
import { FILES, rankDir, taskDir, tasksRoot } from './layout.js';
import { isMissing } from './records.js';
import { readLogRange } from './rotating-log.js';
import type { LogChunk, LogTarget, ReadLogOptions, TaskKey } from './types.js';
import { validateJobId, validateRank, validateTaskKey } from './validate.js';

const DEFAULT_LOG_READ = 64 * 1024;
const MAX_LOG_READ = 4 * 1024 * 1024;

export function isDirectorySync(p: string): boolean {
  try {
    return statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

async function listDir(p: string): Promise<string[]> {
  try {
    return await readdir(p);
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
}

const isCount = (s: string): boolean => /^(0|[1-9][0-9]{0,15})$/.test(s);

/** Calls fn with the key of every task directory under the state dir (a valid job id, numeric rank and epoch), in order. */
export async function forEachTaskDir(stateDir: string, fn: (key: TaskKey) => Promise<void>): Promise<void> {
  const root = tasksRoot(stateDir);
  for (const jobId of await listDir(root)) {
    try {
      validateJobId(jobId);
    } catch {
      continue;
    }
    for (const rank of (await listDir(path.join(root, jobId))).filter(isCount)) {
      for (const epoch of (await listDir(path.join(root, jobId, rank))).filter(isCount)) {
        await fn({ jobId, rank: Number(rank), epoch: Number(epoch) });
      }
    }
  }
}

/**
 * Removes the directories of forgotten tasks (no spec.json) whose newest file is older than cutoff
 * (ms since the epoch), and the rank and job directories left empty; known(key string) keeps a task
 * the runner still holds. Returns how many task directories it removed.
 */
export async function removeForgotten(stateDir: string, cutoff: number, known: (ks: string) => boolean): Promise<number> {
  const root = tasksRoot(stateDir);
  let removed = 0;
  for (const jobId of await listDir(root)) {
    const jobDir = path.join(root, jobId);
    for (const rank of await listDir(jobDir)) {
      const rDir = path.join(jobDir, rank);
      for (const epoch of await listDir(rDir)) {
        const dir = path.join(rDir, epoch);
        const names = await listDir(dir);
        if (names.includes(FILES.spec)) continue;
        if (isCount(rank) && isCount(epoch) && known(`${jobId}/${rank}/${epoch}`)) continue;
        let newest = 0;
        for (const n of ['.', ...names]) {
          const m = await stat(path.join(dir, n)).then((s) => s.mtimeMs).catch(() => 0);
          newest = Math.max(newest, m);
        }
        if (newest >= cutoff) continue;
        await rm(dir, { recursive: true, force: true });
        removed++;
      }
      if ((await listDir(rDir)).length === 0) await rm(rDir, { recursive: true, force: true });
    }
    if ((await listDir(jobDir)).length === 0) await rm(jobDir, { recursive: true, force: true });
  }
  return removed;
}

/** A piece of a rank's log: of the given epoch, else of its newest one. */
export async function readTaskLog(stateDir: string, target: LogTarget, ro: ReadLogOptions = {}): Promise<LogChunk> {
  const jobId = validateJobId(target.jobId);
  const rank = validateRank(target.rank);
  const offset = ro.offset ?? 0;
  const maxBytes = ro.maxBytes ?? DEFAULT_LOG_READ;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError('offset', `must be a non-negative integer, got ${String(offset)}`);
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1 || maxBytes > MAX_LOG_READ) {
    throw new InvalidArgumentError('maxBytes', `must be an integer from 1 to ${MAX_LOG_READ}, got ${String(maxBytes)}`);
  }
  let epoch = target.epoch;
  if (epoch === undefined) {
    const epochs = (await listDir(rankDir(stateDir, jobId, rank))).filter(isCount).map(Number);
    if (epochs.length === 0) throw new NotFoundError('rank log', `${jobId}/${rank}`);
    epoch = Math.max(...epochs);
  } else {
    validateTaskKey({ jobId, rank, epoch });
  }
  const dir = taskDir(stateDir, { jobId, rank, epoch });
  if (!isDirectorySync(dir)) throw new NotFoundError('rank log', `${jobId}/${rank}/${epoch}`);
  return readLogRange(dir, offset, maxBytes);
}
