/**
 * Reading and writing cgroup files, with failures as CgroupError naming the file.
 *
 * The calls are synchronous under their async signatures, on purpose: cgroupfs answers from memory
 * in microseconds (a cgroup's mkdir or rmdir takes 12-30 µs of kernel time here), while each
 * `fs/promises` call cost the agent a thread-pool hop, a promise and, for a missing file, a
 * rejected promise with its Error: with about 80 such calls a rank (make, limit, measure, remove),
 * that was several ms of the agent's CPU per rank, more than the kernel's work.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { CgroupError } from './errors.js';

function errnoOf(e: unknown): string {
  return (e as NodeJS.ErrnoException | null)?.code ?? 'unknown error';
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function exists(path: string): Promise<boolean> {
  return existsSync(path);
}

/** The file's text; null when it does not exist (ENOENT). */
export async function readOptional(path: string): Promise<string | null> {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENODEV') return null;
    throw new CgroupError(path, 'read', describe(e), { cause: e });
  }
}

export async function readText(path: string): Promise<string> {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new CgroupError(path, 'read', describe(e), { cause: e });
  }
}

export async function writeText(path: string, value: string): Promise<void> {
  try {
    writeFileSync(path, value);
  } catch (e) {
    throw new CgroupError(path, 'write', `writing ${JSON.stringify(value)}: ${describe(e)}`, { cause: e });
  }
}

/** Makes one directory; true when it was made, false when it was there. */
export async function mkdirOne(path: string): Promise<boolean> {
  try {
    mkdirSync(path);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'EEXIST') return false;
    throw new CgroupError(path, 'mkdir', describe(e), { cause: e });
  }
}

/** Removes one cgroup directory: 'removed', 'missing', or 'busy' (EBUSY: it still holds processes or children). */
export async function rmdirOne(path: string): Promise<'removed' | 'missing' | 'busy'> {
  try {
    rmdirSync(path);
    return 'removed';
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return 'missing';
    if (errnoOf(e) === 'EBUSY') return 'busy';
    throw new CgroupError(path, 'rmdir', describe(e), { cause: e });
  }
}

/** Subdirectory names; [] when the directory does not exist. */
export async function listDirs(path: string): Promise<string[]> {
  try {
    return readdirSync(path, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw new CgroupError(path, 'read', describe(e), { cause: e });
  }
}

/** The pids in a cgroup's cgroup.procs; [] when the cgroup does not exist. */
export async function readPids(dir: string): Promise<number[]> {
  const text = await readOptional(`${dir}/cgroup.procs`);
  if (text === null) return [];
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number)
    .filter((n) => Number.isSafeInteger(n) && n > 0);
}

/** The pids in a cgroup and every cgroup below it (a rank may make sub-cgroups of its own); [] when it does not exist. */
export async function readTreePids(dir: string): Promise<number[]> {
  const pids = await readPids(dir);
  for (const child of await listDirs(dir)) pids.push(...(await readTreePids(`${dir}/${child}`)));
  return pids;
}

/** The cgroups below `dir`, deepest first (rmdir order). */
export async function subCgroups(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const child of await listDirs(dir)) {
    out.push(...(await subCgroups(`${dir}/${child}`)), `${dir}/${child}`);
  }
  return out;
}
