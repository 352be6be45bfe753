/**
 * `gantry plan --cluster cluster.yaml --job job.yaml [--json]`: would this job fit the
 * described cluster, and where? Runs nothing. Exit 0 when it fits, 1 when it does not,
 * 2 for bad flags or files (the message names the flag or the field).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isGantryError, InvalidArgumentError } from '../shared/errors/index.js';
import { parseJobSpec, type JobSpec } from '../shared/jobspec/index.js';
import { loadClusterText, type LoadedCluster } from '../scheduler/topology/index.js';
import {
  describeRequest,
  gpuList,
  placeJob,
  placementLines,
  reasonLines,
  requestFromJobSpec,
  resolveRequest,
  type JobOutcome,
  type Placement,
  type Reason,
} from '../scheduler/placement/index.js';
import type { CliIO, Command } from '../shared/cli/command.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../shared/cli/command.js';

const USAGE = `usage: gantry plan --cluster <cluster.yaml> --job <job.yaml> [--json]

Plans a job against a described cluster without running anything: whether it fits,
and where every rank would go. Exit status: 0 fits, 1 does not fit, 2 bad input.

  --cluster <file>  cluster description (YAML or JSON): levels and nodes
  --job <file>      job spec (YAML or JSON), as for gantry submit
  --json            print the plan as JSON
  -h, --help        this help
`;

class UsageError extends Error {
  constructor(
    message: string,
    /** Print the usage text too (bad or missing flags). */
    readonly showUsage = false,
  ) {
    super(message);
  }
}

async function readText(path: string, flag: string, io: CliIO): Promise<string> {
  try {
    return await readFile(resolve(io.cwd, path), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${flag} ${path}: cannot read (${code ?? (e instanceof Error ? e.message : String(e))})`);
  }
}

function inputError(file: string, e: unknown): UsageError | null {
  if (e instanceof InvalidArgumentError) return new UsageError(`${file}: ${e.message}`);
  if (isGantryError(e) && (e.code === 'INVALID_ARGUMENT' || e.code === 'PARSE_FAILED')) return new UsageError(`${file}: ${e.message}`);
  return null;
}

interface UnitJson {
  unit: number;
  level: string;
  domain: string;
  ranks: { rank: number; node: string; gpus: number[] }[];
  domains: Record<string, string[]>;
  ringCrossings: Record<string, number>;
  counts: Record<string, number>;
  freeGpusLeft: number;
}

function unitJson(p: Placement, unit: number): UnitJson {
  return {
    unit,
    level: p.level,
    domain: p.domain,
    ranks: p.ranks.map((r) => ({ rank: r.rank, node: r.node, gpus: [...r.gpus] })),
    domains: Object.fromEntries(p.domainsUsed.map((d) => [d.level, [...d.names]])),
    ringCrossings: Object.fromEntries(p.ringCrossings.map((c) => [c.level, c.count])),
    counts: Object.fromEntries(p.counts.map((c) => [c.level, c.count])),
    freeGpusLeft: p.freeGpusLeft,
  };
}

/** The plan as a JSON value (see docs/placement.md "gantry plan"). */
export function planJson(spec: JobSpec, out: JobOutcome, reasons: readonly Reason[]): Record<string, unknown> {
  const units = out.placements.map((p, i) => unitJson(p, i));
  const json: Record<string, unknown> = {
    fits: out.fits,
    job: { name: spec.name, kind: spec.kind, ranks: spec.ranks, gpusPerRank: spec.gpusPerRank },
    // The mode every unit was placed (or searched) in: pack (objectives 1-4) or fill (least free first).
    mode: out.mode,
    units: { requested: out.requested, placed: out.placements.length, minimum: spec.kind === 'Inference' ? spec.replicas.min : out.requested },
  };
  if (units.length === 1) {
    const u = units[0] as UnitJson;
    Object.assign(json, { level: u.level, domain: u.domain, ranks: u.ranks, domains: u.domains, ringCrossings: u.ringCrossings, counts: u.counts, freeGpusLeft: u.freeGpusLeft });
  } else if (units.length > 1) {
    // Several units (replicas, shards): every rank tagged with its unit; domains as the union;
    // ring crossings summed over the units' own rings (each unit is its own gang).
    const domains: Record<string, string[]> = {};
    const crossings: Record<string, number> = {};
    for (const u of units) {
      for (const [level, names] of Object.entries(u.domains)) {
        const list = (domains[level] ??= []);
        for (const n of names) if (!list.includes(n)) list.push(n);
      }
      for (const [level, c] of Object.entries(u.ringCrossings)) crossings[level] = (crossings[level] ?? 0) + c;
    }
    Object.assign(json, { ranks: units.flatMap((u) => u.ranks.map((r) => ({ unit: u.unit, ...r }))), domains, ringCrossings: crossings });
  } else {
    Object.assign(json, { ranks: [], domains: {}, ringCrossings: {} });
  }
  if (units.length > 1) json.placements = units;
  if (reasons.length) json.reasons = reasons.map((r) => ({ ...r }));
  return json;
}

function planText(spec: JobSpec, out: JobOutcome, reasons: readonly Reason[], summary: string): string {
  const lines: string[] = [];
  const unitWord = spec.kind === 'Inference' ? 'replica' : spec.kind === 'Batch' ? 'shard' : 'gang';
  const head = out.fits ? 'fits' : 'does not fit';
  lines.push(`${spec.name} (${spec.kind}): ${head}: ${summary}`);
  if (out.requested > 1 || spec.kind !== 'Training') lines.push(`  ${out.placements.length} of ${out.requested} ${unitWord}s placed${spec.kind === 'Inference' ? ` (minimum ${spec.replicas.min})` : ''}`);
  const compact = out.placements.length > 1 && out.placements.every((p) => p.ranks.length === 1);
  if (compact) {
    // One rank per unit: one line each.
    const width = Math.max(4, ...out.placements.map((p) => (p.ranks[0] as Placement['ranks'][number]).node.length));
    lines.push(`  ${unitWord.padEnd(8)}${'node'.padEnd(width + 2)}gpus`);
    out.placements.forEach((p, i) => {
      const r = p.ranks[0] as Placement['ranks'][number];
      lines.push(`  ${String(i).padEnd(8)}${r.node.padEnd(width + 2)}${gpuList(r.gpus)}`);
    });
  } else {
    out.placements.forEach((p, i) => {
      if (out.placements.length > 1) lines.push(`  ${unitWord} ${i}:`);
      const indent = out.placements.length > 1 ? '    ' : '  ';
      for (const l of placementLines(p)) lines.push(`${indent}${l}`);
    });
  }
  if (reasons.length) {
    lines.push(out.fits ? `  not every ${unitWord} fits:` : '  why:');
    for (const l of reasonLines(reasons)) lines.push(`    ${l}`);
  }
  return `${lines.join('\n')}\n`;
}

async function run(argv: string[], io: CliIO): Promise<number> {
  let values: { cluster?: string; job?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { cluster: { type: 'string' }, job: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e), true);
  }
  if (values.help) {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  if (!values.cluster) throw new UsageError('--cluster <file> is required', true);
  if (!values.job) throw new UsageError('--job <file> is required', true);
  const [clusterText, jobText] = await Promise.all([readText(values.cluster, '--cluster', io), readText(values.job, '--job', io)]);
  let cluster: LoadedCluster;
  try {
    cluster = loadClusterText(clusterText);
  } catch (e) {
    throw inputError(values.cluster, e) ?? e;
  }
  let spec: JobSpec;
  try {
    spec = parseJobSpec(jobText);
  } catch (e) {
    throw inputError(values.job, e) ?? e;
  }
  const request = requestFromJobSpec(spec);
  let out: JobOutcome;
  try {
    out = placeJob(cluster.snapshot, request);
  } catch (e) {
    // The spec is valid on its own but names something this cluster lacks (a level).
    throw inputError(values.job, e) ?? e;
  }
  const reasons = out.failed && !out.failed.fits ? out.failed.reasons : [];
  if (values.json) io.stdout(`${JSON.stringify(planJson(spec, out, reasons), null, 2)}\n`);
  else io.stdout(planText(spec, out, reasons, describeRequest({ ...resolveRequest(cluster.tree, request.gang).summary, mode: out.mode })));
  return out.fits ? EXIT_OK : EXIT_FAILURE;
}

export const planCommand: Command = {
  name: 'plan',
  summary: 'plan a job against a described cluster, running nothing',
  async run(argv, io) {
    try {
      return await run(argv, io);
    } catch (e) {
      if (e instanceof UsageError) {
        io.stderr(`gantry plan: ${e.message}\n`);
        if (e.showUsage) io.stderr(USAGE);
        return EXIT_USAGE;
      }
      throw e;
    }
  },
};
