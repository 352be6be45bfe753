/**
 * The job spec (../../DESIGN.md "Job spec"): one validator for `gantry submit`,
 * `gantry plan` and the API. Unknown fields are refused and every error names its
 * field path (InvalidArgumentError.field, e.g. `topology.slice.size`).
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors/index.js';
import { parseDocument, utf8Length, MAX_DOCUMENT_ALIASES, MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH, MAX_DOCUMENT_NODES } from './document.js';
import { zodToInvalidArgument } from './zod-errors.js';
import { RESOURCE_LIMITS, resourcesSpec, type OnTimeLimit, type ResourcesSpec } from './resources.js';
import { LABEL_KEY, LABEL_KEY_WORDS, LABEL_VALUE, MAX_SELECTOR_ENTRIES, MAX_SELECTOR_VALUES, VERSION, type NodeSelector } from './selector.js';

export type JobKind = 'Training' | 'Inference' | 'Batch';
export type AcceleratorVendor = 'nvidia' | 'amd';

export interface AcceleratorSpec {
  vendor?: AcceleratorVendor;
  /** Glob on the GPU model name (`*` and `?`, case-insensitive), e.g. `H100*`. */
  model?: string;
  minMemoryGiB?: number;
  /** Lowest driver version a node may have (`550.54`), compared segment by segment numerically. */
  minDriver?: string;
  /** Lowest CUDA version a node may have (`12.4`). */
  minCuda?: string;
}

export interface SliceSpec {
  /** Ranks per slice; divides `ranks`. */
  size: number;
  /** Level every slice sits inside (e.g. `nvlink`). */
  level: string;
}

export interface TopologySpec {
  /** The whole unit inside one domain of this level, else it waits. */
  required?: string;
  /** Tried first, climbing one level at a time when it must. */
  preferred?: string;
  slice?: SliceSpec;
}

export interface SloSpec {
  p99Ms: number;
  metric: string;
  /** Base port: replica i serves its metrics (and is told to listen, GANTRY_SERVICE_PORT) on port + i. */
  port: number;
}

/**
 * The port replica `unit` of a service listens on: the spec's base port + the replica index, so
 * no two replicas of one service share a port, on one node or across nodes (replica indices are
 * unique in a job and stay below replicas.max). Pure.
 */
export function servicePort(slo: Pick<SloSpec, 'port'>, unit: number): number {
  return slo.port + unit;
}

/** A validated job spec with every default filled in. */
export interface JobSpec {
  kind: JobKind;
  name: string;
  queue: string;
  priority: number;
  /** Gang size of one unit: the training job, one inference replica, one batch shard. */
  ranks: number;
  gpusPerRank: number;
  accelerator: AcceleratorSpec;
  topology: TopologySpec;
  sameFirmware: boolean;
  /** Nodes whose agent labels match every entry (a value, or one of a list); absent: any node. */
  nodeSelector?: NodeSelector;
  /** Inference: replica count range (1-1 for other kinds). */
  replicas: { min: number; max: number };
  /** Inference: level replicas are spread across. */
  spread?: string;
  slo?: SloSpec;
  /** Batch: number of independent units (1 for other kinds). */
  shards: number;
  command: string[];
  env: Record<string, string>;
  workdir?: string;
  runAs?: string;
  maxRetries: number;
  /** Wall-clock limit in seconds; absent: none (such jobs are never backfilled ahead of others). */
  timeLimitSeconds?: number;
  /** What happens when the time limit is reached; records from before it: `fail`. */
  onTimeLimit: OnTimeLimit;
  /** Per-rank limits; absent: the agent's defaults (records from before, and specs without `resources`). */
  resources?: ResourcesSpec;
  preemptGraceSeconds: number;
}

export const JOB_DEFAULTS = {
  queue: 'default',
  priority: 100,
  ranks: 1,
  gpusPerRank: 1,
  sameFirmware: false,
  maxRetries: 3,
  preemptGraceSeconds: 30,
  onTimeLimit: 'fail',
} as const;

/** Environment variables Gantry sets for every rank; a spec may not set them. */
export const RESERVED_ENV = [
  'RANK',
  'WORLD_SIZE',
  'LOCAL_RANK',
  'LOCAL_WORLD_SIZE',
  'MASTER_ADDR',
  'MASTER_PORT',
  'CUDA_VISIBLE_DEVICES',
  'HIP_VISIBLE_DEVICES',
  'ROCR_VISIBLE_DEVICES',
  'GANTRY_TOPOLOGY_ADDR',
  'GANTRY_SERVICE_PORT',
] as const;

/**
 * Bounds on the free-form fields of every spec: the defaults, and the ceilings a scheduler's
 * config (`jobs.maxCommandArgs`...) may lower but not raise (one argument or value is at most
 * Linux's MAX_ARG_STRLEN; the totals keep a spec inside the 1 MiB spec limit).
 */
export const SPEC_FIELD_LIMITS = {
  /** Arguments in `command`. */
  commandMaxArgs: 4096,
  /** Bytes of one argument (Linux's MAX_ARG_STRLEN). */
  commandArgMaxBytes: 131_072,
  /** Bytes of every argument together. */
  commandMaxBytes: 262_144,
  /** Variables in `env`. */
  envMaxKeys: 1024,
  /** Bytes of one variable name. */
  envNameMaxBytes: 256,
  /** Bytes of one value. */
  envValueMaxBytes: 131_072,
  /** Bytes of every name and value together. */
  envMaxBytes: 262_144,
} as const;

/** The bounds checked on `command` and `env`: SPEC_FIELD_LIMITS, or lower ones from a scheduler's config. */
export type SpecFieldLimits = { -readonly [K in keyof typeof SPEC_FIELD_LIMITS]: number };

const NAME = /^[a-z0-9-]{1,63}$/;
const LEVEL = /^[a-z][a-z0-9-]{0,62}$/;
const levelName = z.string().regex(LEVEL, { error: 'must be a level name (lower-case letters, digits and -), e.g. nvlink, leaf, spine' });
const nameField = z.string().regex(NAME, { error: 'must be 1-63 characters of a-z, 0-9 and -' });
// Checked in validateJobSpec, so that an unquoted YAML number gets its own message.
const versionField = z.unknown();

/** A minimum version: a string of dot-separated whole numbers. A number is refused: YAML reads 12.10 as 12.1. */
function versionValue(value: unknown, field: string): string {
  if (typeof value === 'number') throw new InvalidArgumentError(field, `must be a version string; quote it ("${value}"): as a number, 12.10 would read as 12.1`);
  if (typeof value !== 'string' || !VERSION.test(value)) throw new InvalidArgumentError(field, 'must be a version: dot-separated whole numbers, e.g. "550.54" or "12.4"');
  return value;
}
const LABEL_VALUE_WORDS = 'a label value: 1-253 characters of letters, digits and . _ - : / + @';

const schema = z.strictObject({
  kind: z.enum(['Training', 'Inference', 'Batch']),
  name: nameField,
  queue: nameField.optional(),
  priority: z.int().min(0).max(1000).optional(),
  ranks: z.int().min(1).max(100_000).optional(),
  gpusPerRank: z.int().min(1).max(1024).optional(),
  accelerator: z
    .strictObject({
      vendor: z.enum(['nvidia', 'amd']).optional(),
      model: z
        .string()
        .min(1)
        .max(128)
        .regex(/^[A-Za-z0-9 ._\-*?+/()]+$/, { error: 'must be a model name or glob (letters, digits, space, . _ - + / ( ) and the wildcards * ?)' })
        .optional(),
      minMemoryGiB: z.number().positive().max(1_000_000).optional(),
      minDriver: versionField.optional(),
      minCuda: versionField.optional(),
    })
    .optional(),
  topology: z
    .strictObject({
      required: levelName.optional(),
      preferred: levelName.optional(),
      slice: z.strictObject({ size: z.int().min(1).max(100_000), level: levelName }).optional(),
    })
    .optional(),
  sameFirmware: z.boolean().optional(),
  nodeSelector: z.record(z.string(), z.unknown()).optional(),
  replicas: z.strictObject({ min: z.int().min(0).max(10_000), max: z.int().min(1).max(10_000) }).optional(),
  spread: levelName.optional(),
  slo: z
    .strictObject({
      p99Ms: z.number().positive().max(3_600_000),
      metric: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, { error: 'must be a Prometheus metric name' }),
      port: z.int().min(1).max(65535),
    })
    .optional(),
  shards: z.int().min(1).max(1_000_000).optional(),
  command: z.array(z.string().max(SPEC_FIELD_LIMITS.commandArgMaxBytes)).min(1).max(SPEC_FIELD_LIMITS.commandMaxArgs),
  env: z.record(z.string(), z.string().max(SPEC_FIELD_LIMITS.envValueMaxBytes)).optional(),
  workdir: z.string().min(1).max(4096).optional(),
  runAs: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: 'must be a user name (a-z, 0-9, _ and -, starting with a letter or _)' })
    .optional(),
  maxRetries: z.int().min(0).max(1000).optional(),
  timeLimit: z.union([z.number(), z.string()]).optional(),
  onTimeLimit: z.enum(['fail', 'requeue']).optional(),
  resources: z
    .strictObject({
      // Bounds checked in resourcesSpec, with the unit in the message.
      memoryGiBPerRank: z.number().optional(),
      maxProcesses: z.int().min(1).max(RESOURCE_LIMITS.maxProcessesMax).optional(),
      cpuBinding: z.enum(['numa', 'none']).optional(),
    })
    .optional(),
  preemptGraceSeconds: z.int().min(0).max(86_400).optional(),
});

const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** `90`, `90s`, `30m`, `2h`, `1h30m`, `1d` -> seconds. */
export function parseDurationSeconds(value: number | string, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(field, 'must be a whole number of seconds, at least 1');
    return value;
  }
  const m = DURATION.exec(value.trim());
  if (!m || value.trim().length === 0 || !m.slice(1).some((x) => x !== undefined)) {
    throw new InvalidArgumentError(field, 'must be seconds or a duration like 90s, 30m, 2h, 1h30m or 1d');
  }
  const [d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x))) as [number, number, number, number];
  const total = d * 86400 + h * 3600 + mi * 60 + s;
  if (total < 1) throw new InvalidArgumentError(field, 'must be at least 1 second');
  return total;
}

/**
 * Validate a parsed value (from YAML, JSON or the API) and fill in defaults. `fieldLimits` lowers
 * the bounds of `command` and `env` (a value above SPEC_FIELD_LIMITS's is held at it).
 */
export function validateJobSpec(value: unknown, fieldLimits: Partial<SpecFieldLimits> = {}): JobSpec {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError('', 'a job spec is a mapping of fields (kind, name, command, ...)');
  }
  checkFreeFormSizes(value as Record<string, unknown>, effectiveFieldLimits(fieldLimits));
  const r = schema.safeParse(value);
  if (!r.success) throw zodToInvalidArgument(r.error);
  const v = r.data;
  const kind = v.kind;
  const only = (field: string, present: boolean, k: JobKind): void => {
    if (present && kind !== k) throw new InvalidArgumentError(field, `only for kind ${k} (this job is ${kind})`);
  };
  only('replicas', v.replicas !== undefined, 'Inference');
  only('spread', v.spread !== undefined, 'Inference');
  only('slo', v.slo !== undefined, 'Inference');
  only('shards', v.shards !== undefined, 'Batch');
  const ranks = v.ranks ?? JOB_DEFAULTS.ranks;
  const topology: TopologySpec = {};
  if (v.topology?.required !== undefined) topology.required = v.topology.required;
  if (v.topology?.preferred !== undefined) topology.preferred = v.topology.preferred;
  if (v.topology?.slice) {
    const { size, level } = v.topology.slice;
    if (ranks % size !== 0) throw new InvalidArgumentError('topology.slice.size', `must divide ranks (${ranks})`);
    topology.slice = { size, level };
  }
  if (topology.required !== undefined && topology.required === 'gpu') {
    throw new InvalidArgumentError('topology.required', 'gpu is finer than a rank; use node or a coarser level');
  }
  if (v.replicas && v.replicas.min > v.replicas.max) throw new InvalidArgumentError('replicas.min', `must not exceed replicas.max (${v.replicas.max})`);
  if (v.slo && v.replicas && servicePort(v.slo, v.replicas.max - 1) > 65535) {
    throw new InvalidArgumentError(
      'slo.port',
      `replica i listens on slo.port + i; with replicas.max ${v.replicas.max} the last replica's port would be ${servicePort(v.slo, v.replicas.max - 1)}, above 65535 (use a base port of at most ${65536 - v.replicas.max})`,
    );
  }
  const env: Record<string, string> = {};
  for (const [k, val] of Object.entries(v.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,255}$/.test(k)) throw new InvalidArgumentError(`env.${k}`, 'must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)');
    if ((RESERVED_ENV as readonly string[]).includes(k)) throw new InvalidArgumentError(`env.${k}`, 'is set by Gantry for every rank');
    env[k] = val;
  }
  if (v.command[0] === undefined || v.command[0].length === 0) throw new InvalidArgumentError('command[0]', 'the program to run must not be empty');
  if (v.workdir !== undefined && !v.workdir.startsWith('/')) throw new InvalidArgumentError('workdir', 'must be an absolute path');
  const accelerator: AcceleratorSpec = {};
  if (v.accelerator?.vendor !== undefined) accelerator.vendor = v.accelerator.vendor;
  if (v.accelerator?.model !== undefined) accelerator.model = v.accelerator.model;
  if (v.accelerator?.minMemoryGiB !== undefined) accelerator.minMemoryGiB = v.accelerator.minMemoryGiB;
  if (v.accelerator?.minDriver !== undefined) accelerator.minDriver = versionValue(v.accelerator.minDriver, 'accelerator.minDriver');
  if (v.accelerator?.minCuda !== undefined) accelerator.minCuda = versionValue(v.accelerator.minCuda, 'accelerator.minCuda');
  let nodeSelector: NodeSelector | undefined;
  if (v.nodeSelector !== undefined) {
    // The entries as given: a parser's record drops a `__proto__` key, which must be refused, not ignored.
    const raw = (value as { nodeSelector?: unknown }).nodeSelector;
    const entries = Object.entries(raw !== null && typeof raw === 'object' ? raw : v.nodeSelector);
    if (entries.length > MAX_SELECTOR_ENTRIES) throw new InvalidArgumentError('nodeSelector', `takes at most ${MAX_SELECTOR_ENTRIES} labels`);
    nodeSelector = {};
    for (const [key, want] of entries) {
      if (!LABEL_KEY.test(key)) {
        throw new InvalidArgumentError(`nodeSelector.${key}`, `must be ${LABEL_KEY_WORDS}`);
      }
      const field = `nodeSelector.${key}`;
      if (typeof want === 'string') {
        if (!LABEL_VALUE.test(want)) throw new InvalidArgumentError(field, `must be ${LABEL_VALUE_WORDS}`);
        nodeSelector[key] = want;
      } else if (Array.isArray(want)) {
        if (want.length === 0) throw new InvalidArgumentError(field, 'a list of values needs at least 1 item');
        if (want.length > MAX_SELECTOR_VALUES) throw new InvalidArgumentError(field, `takes at most ${MAX_SELECTOR_VALUES} values`);
        want.forEach((w, i) => {
          if (typeof w !== 'string' || !LABEL_VALUE.test(w)) throw new InvalidArgumentError(`${field}[${i}]`, `must be ${LABEL_VALUE_WORDS}`);
        });
        nodeSelector[key] = [...(want as string[])];
      } else {
        throw new InvalidArgumentError(field, `must be ${LABEL_VALUE_WORDS} (the label equals it) or a list of them (the label is one of them)`);
      }
    }
  }
  const spec: JobSpec = {
    kind,
    name: v.name,
    queue: v.queue ?? JOB_DEFAULTS.queue,
    priority: v.priority ?? JOB_DEFAULTS.priority,
    ranks,
    gpusPerRank: v.gpusPerRank ?? JOB_DEFAULTS.gpusPerRank,
    accelerator,
    topology,
    sameFirmware: v.sameFirmware ?? JOB_DEFAULTS.sameFirmware,
    replicas: v.replicas ? { min: v.replicas.min, max: v.replicas.max } : { min: 1, max: 1 },
    shards: v.shards ?? 1,
    command: [...v.command],
    env,
    maxRetries: v.maxRetries ?? JOB_DEFAULTS.maxRetries,
    preemptGraceSeconds: v.preemptGraceSeconds ?? JOB_DEFAULTS.preemptGraceSeconds,
    onTimeLimit: v.onTimeLimit ?? JOB_DEFAULTS.onTimeLimit,
  };
  if (nodeSelector) spec.nodeSelector = nodeSelector;
  if (v.spread !== undefined) spec.spread = v.spread;
  if (v.slo) spec.slo = { ...v.slo };
  if (v.workdir !== undefined) spec.workdir = v.workdir;
  if (v.runAs !== undefined) spec.runAs = v.runAs;
  if (v.timeLimit !== undefined) spec.timeLimitSeconds = parseDurationSeconds(v.timeLimit, 'timeLimit');
  if (v.onTimeLimit !== undefined && spec.timeLimitSeconds === undefined) throw new InvalidArgumentError('onTimeLimit', 'needs a timeLimit: without one there is no time limit to reach');
  if (v.resources) spec.resources = resourcesSpec(v.resources);
  return spec;
}

/** `limits` held at SPEC_FIELD_LIMITS, the missing ones filled from it. */
function effectiveFieldLimits(limits: Partial<SpecFieldLimits>): SpecFieldLimits {
  const out = { ...SPEC_FIELD_LIMITS } as SpecFieldLimits;
  for (const k of Object.keys(SPEC_FIELD_LIMITS) as Array<keyof SpecFieldLimits>) {
    const v = limits[k];
    if (v !== undefined) out[k] = Math.min(v, SPEC_FIELD_LIMITS[k]);
  }
  return out;
}

/**
 * The bounds of env and command (counts, each name, value and argument, the totals), checked on
 * the raw value before the schema walks it, so that 60,000 variables are refused without 60,000
 * checks each. Values of the wrong type are left to the schema.
 */
function checkFreeFormSizes(value: Record<string, unknown>, L: SpecFieldLimits): void {
  const env = value['env'];
  if (env !== null && typeof env === 'object' && !Array.isArray(env)) {
    const keys = Object.keys(env);
    if (keys.length > L.envMaxKeys) throw new InvalidArgumentError('env', `has ${keys.length} variables; the limit is ${L.envMaxKeys}`);
    let bytes = 0;
    for (const k of keys) {
      const v = (env as Record<string, unknown>)[k];
      const name = utf8Length(k);
      if (name > L.envNameMaxBytes) throw new InvalidArgumentError('env', `has a variable name of ${name} bytes (${JSON.stringify(k.slice(0, 32))}...); the limit is ${L.envNameMaxBytes}`);
      const size = typeof v === 'string' ? utf8Length(v) : 0;
      if (size > L.envValueMaxBytes) throw new InvalidArgumentError(`env.${k}`, `is ${size} bytes; the limit is ${L.envValueMaxBytes}`);
      bytes += name + size;
    }
    if (bytes > L.envMaxBytes) throw new InvalidArgumentError('env', `holds ${bytes} bytes of names and values; the limit is ${L.envMaxBytes}`);
  }
  const command = value['command'];
  if (Array.isArray(command)) {
    if (command.length > L.commandMaxArgs) throw new InvalidArgumentError('command', `has ${command.length} arguments; the limit is ${L.commandMaxArgs}`);
    let bytes = 0;
    for (const [i, a] of command.entries()) {
      const size = typeof a === 'string' ? utf8Length(a) : 0;
      if (size > L.commandArgMaxBytes) throw new InvalidArgumentError(`command[${i}]`, `is ${size} bytes; the limit is ${L.commandArgMaxBytes}`);
      bytes += size;
    }
    if (bytes > L.commandMaxBytes) throw new InvalidArgumentError('command', `holds ${bytes} bytes of arguments; the limit is ${L.commandMaxBytes}`);
  }
}

export interface ParseJobSpecOptions {
  /** Refuse specs over this many bytes (default and ceiling 1 MiB). */
  maxBytes?: number;
  /** Refuse specs nested deeper than this, before parsing (default 64). */
  maxDepth?: number;
  /** Refuse YAML specs expanding more aliases than this (default 100). */
  maxAliasCount?: number;
  /** Refuse YAML specs holding more nodes than this (values, collections, entries), before parsing (default 20,000). */
  maxNodes?: number;
  /** Refuse jobs with more ranks per unit than this (default: the schema's 100,000). */
  maxRanksPerJob?: number;
  /** Refuse Batch jobs with more shards than this (default: the schema's 1,000,000). */
  maxShardsPerJob?: number;
  /** Refuse Inference jobs with a replicas.max above this (default: the schema's 10,000). */
  maxReplicasPerJob?: number;
  /** Lower bounds of `command` and `env` (default and ceiling: SPEC_FIELD_LIMITS). */
  fieldLimits?: Partial<SpecFieldLimits>;
}

/** Parse a job spec from YAML or JSON text and validate it. */
export function parseJobSpec(text: string, options: ParseJobSpecOptions = {}): JobSpec {
  const maxBytes = Math.min(options.maxBytes ?? MAX_DOCUMENT_BYTES, MAX_DOCUMENT_BYTES);
  const spec = validateJobSpec(
    parseDocument(text, { maxBytes, what: 'job spec', maxDepth: options.maxDepth ?? MAX_DOCUMENT_DEPTH, maxAliasCount: options.maxAliasCount ?? MAX_DOCUMENT_ALIASES, maxNodes: options.maxNodes ?? MAX_DOCUMENT_NODES }),
    options.fieldLimits,
  );
  const over = (field: string, value: number, limit: number | undefined, what: string): void => {
    if (limit !== undefined && value > limit) throw new InvalidArgumentError(field, `is ${value}; this scheduler takes at most ${limit} ${what} per job`);
  };
  over('ranks', spec.ranks, options.maxRanksPerJob, 'ranks');
  over('shards', spec.shards, options.maxShardsPerJob, 'shards');
  over('replicas.max', spec.replicas.max, options.maxReplicasPerJob, 'replicas');
  return spec;
}
