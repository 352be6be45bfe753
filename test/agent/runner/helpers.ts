/**
 * Shared set-up for the runner tests: a temporary state dir, a runner that polls fast, and a
 * teardown that kills every supervisor and rank group the test left behind (found through the
 * task directories, so ranks of a runner that was closed or killed are found too).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { createAgentCommands } from '../../../agent/commands.js';
import { createLogger } from '../../../shared/log/index.js';
import type { TaskStatusView } from '../../../shared/wire/index.js';
import {
  createTaskRunner,
  defaultNativeSupervisorPath,
  defaultSupervisorPath,
  type TaskKey,
  type TaskRunner,
  type TaskRunnerOptions,
  type TaskSpec,
  type TaskStatus,
} from '../../../agent/runner/index.js';

export const SUPERVISOR = defaultSupervisorPath();
/**
 * The native supervisor the tests run: the built one, or the file GANTRY_TEST_NATIVE_SUPERVISOR
 * names (no-compiler.test.ts names a missing one, to see these tests skip as on a machine without
 * a C compiler).
 */
export const NATIVE_SUPERVISOR = process.env.GANTRY_TEST_NATIVE_SUPERVISOR || defaultNativeSupervisorPath();
export const IS_ROOT = process.getuid?.() === 0;
/**
 * The supervisor the runner tests run against: the native one, unless GANTRY_TEST_SUPERVISOR says
 * 'node' (node-supervisor.test.ts runs the same tests again that way: one contract, two supervisors).
 */
export const SUPERVISOR_KIND: 'native' | 'node' = process.env.GANTRY_TEST_SUPERVISOR === 'node' ? 'node' : 'native';

/**
 * Why a test that runs ranks under the given supervisor cannot run here, or undefined when it can.
 * The native one is missing where the build found no C compiler (scripts/build-native.mjs): its
 * tests are skipped, saying so, and the rest (the Node supervisor's) still run. CI has a compiler
 * (scripts/setup.sh installs one), so it runs them all.
 */
export function supervisorMissing(kind: 'native' | 'node' = SUPERVISOR_KIND): string | undefined {
  if (kind === 'native' && !existsSync(NATIVE_SUPERVISOR)) {
    return `the native supervisor ${NATIVE_SUPERVISOR} is not built (npm run build found no C compiler); the Node supervisor's runs of these tests are in node-supervisor.test.ts`;
  }
  return undefined;
}

/** tap options for a test that runs ranks under the given supervisor: skipped, with the reason, where it is missing. */
export function needs(kind: 'native' | 'node' = SUPERVISOR_KIND): { skip?: string } {
  const why = supervisorMissing(kind);
  return why === undefined ? {} : { skip: why };
}

/**
 * The supervisor a test's runner uses must exist: a test that needs the native one is skipped
 * (needs()) before it gets here, so a missing one now means the build did not run at all.
 */
export function requireSupervisor(kind: 'native' | 'node' = SUPERVISOR_KIND): void {
  const file = kind === 'native' ? NATIVE_SUPERVISOR : SUPERVISOR;
  if (!existsSync(file)) throw new Error(`${file} is missing: build first (npm run build)`);
}

/** A world-readable temporary directory, removed after the test. */
export function tempDir(t: Test, prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }));
  return dir;
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** SIGKILLs every supervisor and rank group recorded under stateDir. */
export function killEverythingUnder(stateDir: string): void {
  const root = path.join(stateDir, 'tasks');
  const ls = (d: string): string[] => (existsSync(d) ? readdirSync(d) : []);
  for (const job of ls(root))
    for (const rank of ls(path.join(root, job)))
      for (const epoch of ls(path.join(root, job, rank))) {
        const dir = path.join(root, job, rank, epoch);
        const status = readJson(path.join(dir, 'status.json'));
        const launch = readJson(path.join(dir, 'launch.json'));
        for (const [target, group] of [
          [status?.pgid, true],
          [status?.supervisorPid, false],
          [launch?.supervisorPid, false],
        ] as const) {
          if (typeof target !== 'number' || target <= 1) continue;
          try {
            process.kill(group ? -target : target, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
}

/** A state dir (cleaned up, its processes killed) and a runner on it (closed). */
export function setup(t: Test, over: Partial<TaskRunnerOptions> = {}): { runner: TaskRunner; stateDir: string; workdir: string } {
  requireSupervisor(over.supervisor === 'node' || over.supervisor === 'native' ? over.supervisor : SUPERVISOR_KIND);
  const stateDir = tempDir(t, 'gantry-runner-state-');
  const workdir = tempDir(t, 'gantry-runner-work-');
  chmodSync(workdir, 0o777); // ranks run as nobody and may write here
  const runner = newRunner(t, stateDir, over);
  // Registered after the dirs' teardowns, so it runs before them (tap runs teardowns in reverse).
  t.teardown(() => killEverythingUnder(stateDir));
  return { runner, stateDir, workdir };
}

export function newRunner(t: Test, stateDir: string, over: Partial<TaskRunnerOptions> = {}): TaskRunner {
  const runner = createTaskRunner({
    stateDir,
    allowedUsers: ['nobody'],
    allowRoot: false,
    logMaxBytes: 1024 * 1024,
    logKeep: 3,
    pollMs: 50,
    supervisor: SUPERVISOR_KIND,
    nativeSupervisorPath: NATIVE_SUPERVISOR,
    ...over,
  });
  t.teardown(() => runner.close());
  return runner;
}

let nextJob = 0;
export function spec(over: Partial<TaskSpec> & { command: string[] }): TaskSpec {
  return {
    jobId: `job-${process.pid}-${nextJob++}`,
    rank: 0,
    epoch: 1,
    env: {},
    workdir: '/',
    runAs: 'nobody',
    graceSeconds: 5,
    ...over,
  };
}

export const keyOf = (s: TaskKey): TaskKey => ({ jobId: s.jobId, rank: s.rank, epoch: s.epoch });

/** Polls until fn returns a value other than undefined/false (a guard against hangs, not a timing assertion). */
export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Resolves with the first update for key that satisfies pred (or the current status, if it already does). */
export function waitForStatus(runner: TaskRunner, key: TaskKey, pred: (s: TaskStatus) => boolean, what = 'a task update'): Promise<TaskStatus> {
  return waitFor(what, () => {
    const s = runner.get(key);
    return s && pred(s) ? s : undefined;
  });
}

export const finished = (s: TaskStatus): boolean => s.state === 'exited' || s.state === 'failed-to-start';

/** The whole log of a task, read in pieces of maxBytes. */
export async function readWholeLog(runner: TaskRunner, key: TaskKey, maxBytes = 65536): Promise<string> {
  let out = '';
  let offset = 0;
  for (;;) {
    const c = await runner.readLog(key, { offset, maxBytes });
    out += c.data;
    offset = c.nextOffset;
    if (c.eof) return out;
  }
}

/** Waits until the task's log contains re (the rank got that far). */
export function waitForLog(runner: TaskRunner, key: TaskKey, re: RegExp): Promise<RegExpMatchArray> {
  return waitFor(`log matching ${re}`, async () => (await readWholeLog(runner, key)).match(re) ?? undefined);
}

/**
 * A stand-in agent: a Node child process running an inline ES module (a runner of its own, say),
 * with PATH only, SIGKILLed at teardown. `output()` is what it printed so far (stdout and stderr);
 * `exited` settles when it is gone.
 */
export function childScript(t: Test, script: string): { child: ChildProcess; output: () => string; exited: Promise<void> } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(() => {
    child.kill('SIGKILL');
    return exited;
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  return { child, output: () => out, exited };
}

/**
 * The agent's command handler over a real runner, as the agent wires it, with the replies it sends
 * collected in `updates` (no inventory, SLO or latency service; a fixed clock).
 */
export function agentCommandsOver(runner: Pick<TaskRunner, 'start' | 'stop' | 'readLog'>, updates: TaskStatusView[]): ReturnType<typeof createAgentCommands> {
  return createAgentCommands({
    runner,
    replies: () => ({ sendTaskUpdate: (s) => updates.push(s), sendLogChunk: () => undefined }),
    inventory: () => undefined,
    slo: () => undefined,
    latency: () => undefined,
    nowMs: () => 7,
    log: createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false }),
  });
}
