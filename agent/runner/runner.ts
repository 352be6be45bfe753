/**
 * The agent's rank runner: starts each rank under a detached supervisor, through a
 * SupervisorLauncher (launcher.ts): the native one (native-launcher.ts: gantry-supervisor, forked
 * by one launcher process per runner) or the Node one (node-launcher.ts: supervisor.ts, handed to
 * an already booted warm one when the pool has one). The task table (task-table.ts) holds the
 * tasks and moves them on from their records, by the launchers' reports or by polling. Here: the
 * TaskRunner itself, checking and recording a start, stop and fencing, adoption after an agent
 * restart, forget and cleanup. See docs/runner.md.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, UnavailableError } from '../../shared/errors/index.js';
import { FILES, taskDir } from './layout.js';
import { defaultNativeSupervisorPath, defaultSupervisorPath, rankPath, type LaunchHost, type SupervisorLauncher } from './launcher.js';
import { createNativeLauncher } from './native-launcher.js';
import { createNodeLauncher } from './node-launcher.js';
import { signalGroup, signalPid } from './procfs.js';
import {
  RECORD_VERSION,
  isMissing,
  readJson,
  writeJsonAtomic,
  writeJsonAtomicSync,
  type ExitRecord,
  type RunIdentity,
  type SpecCgroupRecord,
  type SpecRecord,
  type StopRecord,
} from './records.js';
import { forEachTaskDir, isDirectorySync, readTaskLog, removeForgotten } from './task-dirs.js';
import { blankStatus, createTaskTable, isActive, type Task } from './task-table.js';
import type { TaskKey, TaskRunner, TaskRunnerOptions, TaskSpec, TaskStatus } from './types.js';
import { compareKeys, RunAsRefusedError, taskKeyString, validateGraceSeconds, validateTaskKey, validateTaskSpec } from './validate.js';
import { lookupUser } from './users.js';

const DEFAULT_POLL_MS = 500;
const DEFAULT_START_WAIT_MS = 10_000;
/** After the grace period, how long the runner gives the supervisor before it SIGKILLs the group itself. */
const BACKSTOP_MS = 5_000;
/** Files forget() deletes; the logs stay for cleanup(). */
const STATE_FILES = [FILES.spec, FILES.launch, FILES.status, FILES.stop, FILES.exit];

function checkOptions(opts: TaskRunnerOptions): void {
  if (typeof opts.stateDir !== 'string' || opts.stateDir === '') throw new InvalidArgumentError('stateDir', 'must be a directory path');
  if (!Array.isArray(opts.allowedUsers) || opts.allowedUsers.some((u) => typeof u !== 'string' || u === '')) {
    throw new InvalidArgumentError('allowedUsers', 'must be a list of user names');
  }
  if (!Number.isSafeInteger(opts.logMaxBytes) || opts.logMaxBytes <= 0) {
    throw new InvalidArgumentError('logMaxBytes', `must be a positive integer, got ${String(opts.logMaxBytes)}`);
  }
  if (!Number.isSafeInteger(opts.logKeep) || opts.logKeep < 0) {
    throw new InvalidArgumentError('logKeep', `must be a non-negative integer, got ${String(opts.logKeep)}`);
  }
  if (opts.pollMs !== undefined && (!Number.isFinite(opts.pollMs) || opts.pollMs < 1)) {
    throw new InvalidArgumentError('pollMs', `must be at least 1, got ${String(opts.pollMs)}`);
  }
  if (opts.warmSupervisors !== undefined && (!Number.isSafeInteger(opts.warmSupervisors) || opts.warmSupervisors < 0)) {
    throw new InvalidArgumentError('warmSupervisors', `must be a non-negative integer, got ${String(opts.warmSupervisors)}`);
  }
  if (opts.supervisor !== undefined && !['auto', 'native', 'node'].includes(opts.supervisor)) {
    throw new InvalidArgumentError('supervisor', `must be 'auto', 'native' or 'node', got ${JSON.stringify(opts.supervisor)}`);
  }
  if (opts.warmRefillDelayMs !== undefined && (!Number.isFinite(opts.warmRefillDelayMs) || opts.warmRefillDelayMs < 0)) {
    throw new InvalidArgumentError('warmRefillDelayMs', `must be a non-negative number, got ${String(opts.warmRefillDelayMs)}`);
  }
}

export function createTaskRunner(opts: TaskRunnerOptions): TaskRunner {
  checkOptions(opts);
  const stateDir = path.resolve(opts.stateDir);
  const now = opts.now ?? Date.now;
  const startWaitMs = opts.startWaitMs ?? DEFAULT_START_WAIT_MS;
  const allowed = new Set(opts.allowedUsers);
  /** The agent's own user (name and home), looked up once: it does not change while the agent runs. */
  let self: os.UserInfo<string> | undefined;
  const selfUser = (): os.UserInfo<string> => (self ??= os.userInfo());

  const containment = opts.containment;
  const table = createTaskTable({ stateDir, now, pollMs: opts.pollMs ?? DEFAULT_POLL_MS, startWaitMs, containment });
  const pendingStarts = new Map<string, Promise<TaskStatus>>();
  const host: LaunchHost = {
    stateDir,
    now,
    closed: table.closed,
    running: (e, st) => table.markRunning(e, st, true),
    ended: (e, exit) => table.conclude(e, exit, true),
    look: table.look,
    schedule: table.schedule,
  };
  const nativePath = opts.nativeSupervisorPath ?? defaultNativeSupervisorPath();
  const useNative = opts.supervisor === 'native' || ((opts.supervisor ?? 'auto') === 'auto' && existsSync(nativePath));
  // The native supervisor needs no warm pool: its launcher forks it in a fraction of a millisecond.
  const nodeLauncher = createNodeLauncher(host, {
    supervisorPath: opts.supervisorPath ?? defaultSupervisorPath(),
    warmSupervisors: useNative ? 0 : (opts.warmSupervisors ?? 0),
    warmRefillDelayMs: opts.warmRefillDelayMs,
  });
  const launcher: SupervisorLauncher = useNative ? createNativeLauncher(host, { nativePath, fallback: nodeLauncher }) : nodeLauncher;

  // ---- start -----------------------------------------------------------------------------------

  const resolveIdentity = async (runAs: string): Promise<RunIdentity | null> => {
    const myUid = process.getuid?.() ?? -1;
    if (runAs === '') {
      if (myUid === 0 && !opts.allowRoot) {
        throw new RunAsRefusedError('is empty and the agent runs as root; running ranks as root is not allowed by the agent config (runner.allowRoot)');
      }
      return null;
    }
    if (!allowed.has(runAs)) {
      throw new RunAsRefusedError(`${JSON.stringify(runAs)} is not one of the agent's allowed users (runner.allowedUsers: ${[...allowed].join(', ') || 'none'})`);
    }
    const user = await lookupUser(runAs);
    if (!user) throw new RunAsRefusedError(`no user ${JSON.stringify(runAs)} on this node`);
    if (user.uid === 0 && !opts.allowRoot) {
      throw new RunAsRefusedError(`${JSON.stringify(runAs)} is root (uid 0); running ranks as root is not allowed by the agent config (runner.allowRoot)`);
    }
    if (myUid !== 0 && myUid !== -1 && myUid !== user.uid) {
      throw new RunAsRefusedError(`the agent runs as uid ${myUid} and cannot switch to ${JSON.stringify(runAs)} (uid ${user.uid})`);
    }
    return { name: user.name, uid: user.uid, gid: user.gid, home: user.home };
  };

  const launch = async (spec: TaskSpec): Promise<TaskStatus> => {
    const key: TaskKey = { jobId: spec.jobId, rank: spec.rank, epoch: spec.epoch };
    const dir = taskDir(stateDir, key);
    const existing = await table.find(key);
    if (existing) return { ...existing.status };

    const user = await resolveIdentity(spec.runAs);
    const self = selfUser();
    const home = user?.home ?? self.homedir;
    let workdir = spec.workdir;
    if (workdir === '') {
      workdir = isDirectorySync(home) ? home : '/';
    } else if (!isDirectorySync(workdir)) {
      throw new InvalidArgumentError('workdir', `${JSON.stringify(workdir)} is not an existing directory on this node`);
    }
    if (!existsSync(launcher.path)) {
      throw new FailedPreconditionError(`the rank supervisor ${launcher.path} is missing; build the agent (npm run build)`);
    }
    // The rank's cgroups, made before spec.json names them; a failure means the rank does not run.
    let cgroup: SpecCgroupRecord | null = null;
    let uncontainable: string | undefined;
    if (containment) {
      try {
        cgroup = await containment.prepare(spec);
      } catch (err) {
        uncontainable = `cannot contain the rank: ${(err as Error).message ?? String(err)}`;
      }
    }
    const name = user?.name ?? self.username;
    const env: Record<string, string> = {
      ...spec.env,
      PATH: spec.env.PATH ?? rankPath(),
      HOME: home,
      USER: name,
      LOGNAME: name,
    };
    const record: SpecRecord = {
      version: RECORD_VERSION,
      jobId: key.jobId,
      rank: key.rank,
      epoch: key.epoch,
      command: spec.command,
      env,
      workdir,
      runAs: spec.runAs,
      user,
      graceSeconds: spec.graceSeconds,
      logMaxBytes: opts.logMaxBytes,
      logKeep: opts.logKeep,
      createdMs: now(),
      ...(spec.slo ? { slo: { ...spec.slo } } : {}),
      ...(cgroup ? { cgroup } : {}),
      ...(spec.deadlineMs !== undefined && spec.deadlineMs > 0 ? { deadlineMs: spec.deadlineMs } : {}),
      ...(spec.gpus && spec.gpus.length > 0 ? { gpus: [...spec.gpus] } : {}),
    };
    // Synchronous on purpose: a few small writes to the page cache cost less than their promise
    // and thread-pool round trips (one per open, write, close, rename), which a gang's burst of
    // starts paid on every node.
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    writeJsonAtomicSync(path.join(dir, FILES.spec), record);

    const e: Task = {
      key,
      dir,
      status: blankStatus(key),
      supervisorPid: null,
      createdMs: record.createdMs,
      slo: spec.slo ? { ...spec.slo } : undefined,
      holding: { gpus: [...(spec.gpus ?? [])], owner: name },
      contained: cgroup !== null,
      stopWaiters: [],
      settleWaiters: [],
      backstop: undefined,
    };
    table.add(e);
    if (uncontainable !== undefined) {
      const rec: ExitRecord = { version: RECORD_VERSION, failedToStart: true, code: null, signal: null, finishedMs: now(), message: uncontainable, writer: 'runner' };
      writeJsonAtomicSync(path.join(dir, FILES.exit), rec);
      await table.conclude(e, rec, true);
      return { ...e.status };
    }

    if (!(await launcher.launch(e))) return { ...e.status };
    table.schedule();
    if (e.status.state === 'starting') {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, startWaitMs);
        e.settleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return { ...e.status };
  };

  // ---- stop ----------------------------------------------------------------------------------

  const stopEntry = async (e: Task, graceSeconds: number, reason: string): Promise<void> => {
    if (!isActive(e)) return;
    const done = new Promise<void>((resolve, reject) => e.stopWaiters.push({ resolve, reject }));
    const first = e.stopWaiters.length === 1;
    if (first) {
      await writeJsonAtomic(path.join(e.dir, FILES.stop), {
        version: RECORD_VERSION,
        reason,
        graceSeconds,
        requestedMs: now(),
      } satisfies StopRecord);
      const graceMs = graceSeconds * 1000;
      const pgid = e.status.pid;
      if (table.supervisorAlive(e) && e.supervisorPid !== null) {
        // The supervisor forwards SIGTERM to the group and SIGKILLs it after the grace, even if the
        // agent dies meanwhile. The runner steps in only if the supervisor does not.
        signalPid(e.supervisorPid, 'SIGTERM');
        e.backstop = setTimeout(() => {
          if (!isActive(e) || table.closed()) return;
          void table.killRank(e);
          e.backstop = setTimeout(() => {
            if (isActive(e) && !table.closed() && e.supervisorPid !== null && table.supervisorAlive(e)) signalPid(e.supervisorPid, 'SIGKILL');
          }, BACKSTOP_MS);
        }, graceMs + BACKSTOP_MS);
      } else if (pgid !== null) {
        signalGroup(pgid, 'SIGTERM');
        e.backstop = setTimeout(() => {
          if (isActive(e) && !table.closed()) void table.killRank(e);
        }, graceMs);
      }
      table.schedule();
    }
    return done;
  };

  // ---- the runner ----------------------------------------------------------------------------

  const runner: TaskRunner = {
    async adopt() {
      if (table.closed()) throw new UnavailableError('the task runner is closed');
      await forEachTaskDir(stateDir, table.adoptOne);
      table.schedule();
      launcher.prepare();
      return runner.list();
    },

    async start(spec) {
      if (table.closed()) throw new UnavailableError('the task runner is closed');
      const valid = validateTaskSpec(spec);
      const ks = taskKeyString(valid);
      const known = table.tasks.get(ks);
      if (known) return { ...known.status };
      const pending = pendingStarts.get(ks);
      if (pending) return pending;
      const p = launch(valid).finally(() => pendingStarts.delete(ks));
      pendingStarts.set(ks, p);
      return p;
    },

    async stop(key, graceSeconds, reason) {
      const k = validateTaskKey(key);
      const grace = validateGraceSeconds(graceSeconds);
      if (table.closed()) throw new UnavailableError('the task runner is closed');
      const pending = pendingStarts.get(taskKeyString(k));
      if (pending) await pending.catch(() => undefined);
      const e = await table.find(k);
      if (!e) return;
      return stopEntry(e, grace, reason);
    },

    async fence(keep, graceSeconds) {
      const grace = validateGraceSeconds(graceSeconds);
      const victims = [...table.tasks.values()].filter((e) => isActive(e) && !keep({ ...e.key }));
      await Promise.all(victims.map((e) => stopEntry(e, grace, 'fenced: the scheduler no longer runs this epoch')));
      return victims.map((e) => ({ ...e.key }));
    },

    holdings() {
      return [...table.tasks.values()]
        .filter((e) => isActive(e) && e.holding !== undefined)
        .map((e) => ({ ...e.key, gpus: [...e.holding!.gpus], owner: e.holding!.owner }))
        .sort(compareKeys);
    },

    sloOf(key) {
      const e = table.tasks.get(taskKeyString(key));
      return e?.slo ? { ...e.slo } : undefined;
    },

    list() {
      return [...table.tasks.values()].map((e) => ({ ...e.status })).sort(compareKeys);
    },

    async refreshCheckpoints() {
      const changed: TaskStatus[] = [];
      for (const e of table.tasks.values()) {
        if (e.status.state !== 'running') continue;
        const rec = await readJson<{ ms?: unknown }>(path.join(e.dir, FILES.checkpoint)).catch(() => undefined);
        const ms = typeof rec?.ms === 'number' ? rec.ms : 0;
        if (ms > e.status.checkpointMs) {
          e.status = { ...e.status, checkpointMs: ms };
          changed.push({ ...e.status });
          table.emit(e);
        }
      }
      return changed;
    },

    get(key) {
      const e = table.tasks.get(taskKeyString(key));
      return e ? { ...e.status } : undefined;
    },

    onUpdate(cb) {
      return table.onUpdate(cb);
    },

    async forget(key) {
      const k = validateTaskKey(key);
      const e = await table.find(k);
      if (!e) return;
      if (isActive(e)) {
        throw new FailedPreconditionError(`task ${taskKeyString(k)} is still ${e.status.state}; stop it before forgetting it`);
      }
      // The cgroups first: one that cannot be removed leaves the task known, to be forgotten again.
      if (containment) await containment.release(k);
      table.tasks.delete(taskKeyString(k));
      // spec.json first: without it the directory counts as forgotten even if a later unlink fails.
      for (const f of STATE_FILES) {
        await unlink(path.join(e.dir, f)).catch((err: unknown) => {
          if (!isMissing(err)) throw err;
        });
      }
    },

    async cleanup(olderThanMs) {
      if (!Number.isFinite(olderThanMs) || olderThanMs < 0) {
        throw new InvalidArgumentError('olderThanMs', `must be a non-negative number, got ${String(olderThanMs)}`);
      }
      return removeForgotten(stateDir, now() - olderThanMs, (ks) => table.tasks.has(ks));
    },

    async readLog(target, ro = {}) {
      return readTaskLog(stateDir, target, ro);
    },

    warmPool() {
      return launcher.stats();
    },

    async close() {
      if (table.closed()) return;
      table.close();
      launcher.close();
      table.release(new UnavailableError('the task runner was closed while stopping a task'));
    },
  };
  return runner;
}
