/** Pure checks of task keys and specs; no I/O. Every refusal names its field. */
import path from 'node:path';
import { InvalidArgumentError } from '../../shared/errors/index.js';
import type { TaskKey, TaskResources, TaskSlo, TaskSpec } from './types.js';

/**
 * The agent will not run ranks as the requested account: not in runner.allowedUsers, root (or an
 * empty runAs with the agent being root) without runner.allowRoot, unknown on the node, or one the
 * agent cannot switch to. An InvalidArgumentError naming `runAs`, with the stable code the
 * scheduler acts on (TaskStatus.refusal): it fails the job instead of retrying it here.
 */
export class RunAsRefusedError extends InvalidArgumentError {
  readonly refusal = 'run-as-refused' as const;
  constructor(detail: string) {
    super('runAs', detail);
  }
}

const JOB_ID = /^[A-Za-z0-9._-]{1,128}$/;
const USER_NAME = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,31}\$?$/;
const ENV_NAME = /^[^=\0]+$/;

export function validateJobId(jobId: unknown, field = 'jobId'): string {
  if (typeof jobId !== 'string' || !JOB_ID.test(jobId)) {
    throw new InvalidArgumentError(field, `must be 1-128 characters of [A-Za-z0-9._-], got ${JSON.stringify(jobId)}`);
  }
  if (jobId.includes('..') || jobId === '.') {
    throw new InvalidArgumentError(field, `must not be "." or contain "..", got ${JSON.stringify(jobId)}`);
  }
  return jobId;
}

function validateCount(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new InvalidArgumentError(field, `must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function validateRank(rank: unknown): number {
  return validateCount(rank, 'rank');
}

export function validateTaskKey(key: TaskKey): TaskKey {
  if (typeof key !== 'object' || key === null) throw new InvalidArgumentError('key', 'must be {jobId, rank, epoch}');
  return { jobId: validateJobId(key.jobId), rank: validateCount(key.rank, 'rank'), epoch: validateCount(key.epoch, 'epoch') };
}

export function validateGraceSeconds(v: unknown, field = 'graceSeconds'): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new InvalidArgumentError(field, `must be a non-negative number of seconds, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Checks everything in a spec that can be checked without the file system or the user database. */
export function validateTaskSpec(spec: TaskSpec): TaskSpec {
  const key = validateTaskKey(spec);
  const { command, env, workdir, runAs } = spec;
  if (!Array.isArray(command) || command.length === 0) {
    throw new InvalidArgumentError('command', 'must be a non-empty argv list');
  }
  command.forEach((a, i) => {
    if (typeof a !== 'string' || a.includes('\0')) throw new InvalidArgumentError(`command[${i}]`, 'must be a string without NUL');
  });
  if (command[0] === '') throw new InvalidArgumentError('command[0]', 'must not be empty');
  if (typeof env !== 'object' || env === null || Array.isArray(env)) {
    throw new InvalidArgumentError('env', 'must be a map of strings');
  }
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_NAME.test(k)) throw new InvalidArgumentError(`env.${k}`, 'name must be non-empty without "=" or NUL');
    if (typeof v !== 'string' || v.includes('\0')) throw new InvalidArgumentError(`env.${k}`, 'value must be a string without NUL');
  }
  if (typeof workdir !== 'string' || workdir.includes('\0') || (workdir !== '' && !path.isAbsolute(workdir))) {
    throw new InvalidArgumentError('workdir', `must be an absolute path, got ${JSON.stringify(workdir)}`);
  }
  if (typeof runAs !== 'string' || (runAs !== '' && !USER_NAME.test(runAs))) {
    throw new InvalidArgumentError('runAs', `is not a valid user name: ${JSON.stringify(runAs)}`);
  }
  const graceSeconds = validateGraceSeconds(spec.graceSeconds);
  const out: TaskSpec = { ...key, command: [...command], env: { ...env }, workdir, runAs, graceSeconds };
  if (spec.slo !== undefined) out.slo = validateTaskSlo(spec.slo);
  if (spec.deadlineMs !== undefined && spec.deadlineMs !== 0) {
    if (!Number.isSafeInteger(spec.deadlineMs) || spec.deadlineMs < 0) {
      throw new InvalidArgumentError('deadlineMs', `must be a unix time in ms (0: none), got ${String(spec.deadlineMs)}`);
    }
    out.deadlineMs = spec.deadlineMs;
  }
  if (spec.gpus !== undefined) {
    if (!Array.isArray(spec.gpus) || spec.gpus.some((g) => !Number.isSafeInteger(g) || g < 0)) {
      throw new InvalidArgumentError('gpus', `must be a list of GPU indexes, got ${JSON.stringify(spec.gpus)}`);
    }
    out.gpus = [...spec.gpus];
  }
  if (spec.resources !== undefined) out.resources = validateTaskResources(spec.resources);
  return out;
}

/** The job spec's per-rank limits (the wire already checked them; this guards what containment is given). */
export function validateTaskResources(r: TaskResources): TaskResources {
  if (typeof r !== 'object' || r === null) throw new InvalidArgumentError('resources', 'must be an object');
  const { memoryBytes, maxProcesses, cpuBinding } = r;
  if (!Number.isSafeInteger(memoryBytes) || memoryBytes < 0) throw new InvalidArgumentError('resources.memoryBytes', `must be a non-negative integer, got ${String(memoryBytes)}`);
  if (!Number.isSafeInteger(maxProcesses) || maxProcesses < 0) throw new InvalidArgumentError('resources.maxProcesses', `must be a non-negative integer, got ${String(maxProcesses)}`);
  if (cpuBinding !== 'numa' && cpuBinding !== 'none') throw new InvalidArgumentError('resources.cpuBinding', `must be 'numa' or 'none', got ${JSON.stringify(cpuBinding)}`);
  return { memoryBytes, maxProcesses, cpuBinding };
}

/** An SLO scrape target (the wire already checked it; this guards what goes into spec.json). */
export function validateTaskSlo(slo: TaskSlo): TaskSlo {
  if (typeof slo !== 'object' || slo === null) throw new InvalidArgumentError('slo', 'must be an object');
  const { service, metric, port, windowMs, replica } = slo;
  if (typeof service !== 'string' || service === '') throw new InvalidArgumentError('slo.service', 'is required');
  if (typeof metric !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(metric)) throw new InvalidArgumentError('slo.metric', `must be a Prometheus metric name, got ${JSON.stringify(metric)}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError('slo.port', `must be 1-65535, got ${String(port)}`);
  if (!Number.isSafeInteger(windowMs) || windowMs < 0) throw new InvalidArgumentError('slo.windowMs', `must be a non-negative integer, got ${String(windowMs)}`);
  if (!Number.isSafeInteger(replica) || replica < 0) throw new InvalidArgumentError('slo.replica', `must be a non-negative integer, got ${String(replica)}`);
  return { service, metric, port, windowMs, replica };
}

/** A stable map key for a task. */
export function taskKeyString(key: TaskKey): string {
  return `${key.jobId}/${key.rank}/${key.epoch}`;
}

export function sameKey(a: TaskKey, b: TaskKey): boolean {
  return a.jobId === b.jobId && a.rank === b.rank && a.epoch === b.epoch;
}

export function compareKeys(a: TaskKey, b: TaskKey): number {
  if (a.jobId !== b.jobId) return a.jobId < b.jobId ? -1 : 1;
  return a.rank - b.rank || a.epoch - b.epoch;
}
