/**
 * `gantry simulate`: a job trace replayed in virtual time through the scheduler's own queue
 * policy, planner, lifecycle and placement engine (scheduler/simulate, pure), for several
 * policies, offered loads and locality penalties at once. This file is the shell: flags, reading
 * the files, the progress bar, the table, the JSON and the report files. docs/simulate.md.
 * Exit status: 0 done, 2 bad flags or input (the message names the flag, or file:line:column).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isGantryError } from '../shared/errors/index.js';
import { EXIT_OK, EXIT_USAGE, parseFlags, type CliIO, type Command } from '../shared/cli/command.js';
import { loadClusterText } from '../scheduler/topology/index.js';
import {
  clusterFromDescription,
  DEFAULT_POLICIES,
  nvl72Cluster,
  parseNvl72,
  parseTrace,
  policiesNamed,
  POLICIES,
  runSimulation,
  shapeCluster,
  tiresiasCluster,
  type SimCluster,
  type SimReport,
} from '../scheduler/simulate/index.js';

const USAGE = `usage: gantry simulate (--cluster <file | nvl72:RACKS> | --nodes N --gpus-per-node G [--nodes-per-leaf K] [--leaves-per-spine L])
                       --trace <csv> [--load X,...] [--policy NAME,...] [--locality A,...]
                       [--out DIR] [--json] [--timing] [--limit N] [--starts]

Replays a job trace in virtual time through the scheduler's own queue policy, planner,
lifecycle and placement engine, once per policy × offered load × locality penalty, and
prints a table (docs/simulate.md). Exit status: 0 done, 2 bad flags or input.

  --cluster <file>     a gantry plan cluster file (YAML or JSON), or a Tiresias cluster spec (.csv)
  --cluster nvl72:N    N GB200 NVL72 racks (18 trays × 4 GPUs; 8 racks per leaf, 6 leaves per spine)
  --nodes, --gpus-per-node, --nodes-per-leaf, --leaves-per-spine
                       a cluster by shape (levels leaf and spine)
  --trace <csv>        ours (submit_s,gpus,duration_s[,gpus_per_node][,queue][,user][,job_id]),
                       Philly's or Tiresias's (told by the header)
  --load X,...         offered loads to scale arrivals to; 'recorded' keeps them (default 0.7,0.9,1.1)
  --policy NAME,...    ${[...POLICIES.keys()].join(', ')} (default all)
  --locality A,...     run-time slowdown per topology level a gang crosses (default 0,0.1,0.3)
  --out DIR            write report.json there
  --json               print the report as JSON (byte-identical for the same inputs)
  --timing             add real decision time per job and wall time (the JSON then differs run to run)
  --limit N            only the first N jobs of the trace
  --starts             add every start's placement to the JSON
  -h, --help           this help
`;

class UsageError extends Error {}

const FLAGS = {
  cluster: { type: 'string' },
  nodes: { type: 'string' },
  'gpus-per-node': { type: 'string' },
  'nodes-per-leaf': { type: 'string' },
  'leaves-per-spine': { type: 'string' },
  trace: { type: 'string' },
  load: { type: 'string' },
  policy: { type: 'string' },
  locality: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  timing: { type: 'boolean' },
  limit: { type: 'string' },
  starts: { type: 'boolean' },
} as const;

function int(flag: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(x) || x < min) throw new UsageError(`--${flag}: must be a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
  return x;
}

function list(flag: string, v: string | undefined, def: readonly string[]): string[] {
  const items = (v ?? def.join(',')).split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`--${flag}: an empty entry in ${JSON.stringify(v)}`);
  return items;
}

function numbers(flag: string, v: string | undefined, def: readonly string[], ok: (x: number) => boolean, words: string): Array<number | null> {
  return list(flag, v, def).map((s) => {
    if (flag === 'load' && s === 'recorded') return null;
    const x = Number(s);
    if (!Number.isFinite(x) || !ok(x)) throw new UsageError(`--${flag}: ${JSON.stringify(s)} is not ${words}`);
    return x;
  });
}

async function readText(path: string, flag: string, io: CliIO): Promise<string> {
  try {
    return await readFile(resolve(io.cwd, path), 'utf8');
  } catch (e) {
    throw new UsageError(`--${flag} ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

async function clusterOf(values: Record<string, string | boolean | undefined>, io: CliIO): Promise<SimCluster> {
  const arg = values.cluster as string | undefined;
  const shape = ['nodes', 'gpus-per-node', 'nodes-per-leaf', 'leaves-per-spine'].filter((f) => values[f] !== undefined);
  if (arg !== undefined && shape.length) throw new UsageError(`--cluster and --${shape[0]}: give a cluster either way, not both`);
  if (arg === undefined) {
    if (!shape.length) throw new UsageError('--cluster: required (or the shape flags --nodes and --gpus-per-node)');
    const nodes = int('nodes', values.nodes as string | undefined);
    const gpus = int('gpus-per-node', values['gpus-per-node'] as string | undefined);
    if (nodes === undefined) throw new UsageError('--nodes: required with the shape flags');
    if (gpus === undefined) throw new UsageError('--gpus-per-node: required with the shape flags');
    const perLeaf = int('nodes-per-leaf', values['nodes-per-leaf'] as string | undefined);
    const perSpine = int('leaves-per-spine', values['leaves-per-spine'] as string | undefined);
    return shapeCluster({ nodes, gpusPerNode: gpus, ...(perLeaf ? { nodesPerLeaf: perLeaf } : {}), ...(perSpine ? { leavesPerSpine: perSpine } : {}) });
  }
  const racks = parseNvl72(arg);
  if (racks !== null) return nvl72Cluster(racks);
  const text = await readText(arg, 'cluster', io);
  if (arg.toLowerCase().endsWith('.csv')) return tiresiasCluster(text, basename(arg));
  try {
    return clusterFromDescription(loadClusterText(text).description, basename(arg));
  } catch (e) {
    if (isGantryError(e)) throw new UsageError(`--cluster ${arg}: ${e.message}`);
    throw e;
  }
}

/** The files of `--out DIR`: report.json (the plots are added here, drawn from the same report). */
/**
 * report.json, the plots (summary.svg, occupancy.svg, queue-delay-cdf.svg, topology-heat.svg) and report.html.
 * The plotting code (vega) is loaded here, not at start, so other commands do not load it.
 */
export async function writeReportFiles(dir: string, report: SimReport): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'report.json');
  await writeFile(file, reportJson(report));
  const { renderReport } = await import('../scheduler/simulate/plots.js');
  const written = [file];
  for (const f of (await renderReport(report)).files) {
    const out = join(dir, f.name);
    await writeFile(out, f.content);
    written.push(out);
  }
  return written;
}

export function reportJson(report: SimReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

const pctText = (x: number): string => `${(100 * x).toFixed(1)}%`;
const secs = (s: number): string => (s >= 86_400 ? `${(s / 86_400).toFixed(2)}d` : s >= 3600 ? `${(s / 3600).toFixed(2)}h` : s >= 60 ? `${(s / 60).toFixed(1)}m` : `${s.toFixed(1)}s`);

/** The terminal table: one row per policy × load × locality. */
export function reportTable(r: SimReport): string {
  const head = ['policy', 'load', 'locality', 'jobs', 'JCT mean', 'JCT p99', 'wait mean', 'wait p99', 'makespan', 'occupancy', 'minimal', 'stranded'];
  const rows = r.runs.map((x) => [
    x.policy,
    x.load === null ? `${r.trace.recordedLoad} (rec.)` : String(x.load),
    pctText(x.localityPenalty),
    String(x.completed),
    secs(x.jct.meanS),
    secs(x.jct.p99S),
    secs(x.queueDelay.meanS),
    secs(x.queueDelay.p99S),
    secs(x.makespanS),
    pctText(x.occupancy),
    pctText(x.locality.minimalDomainShare),
    pctText(x.fragmentation.meanStrandedShare),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((c) => c[i]!.length)));
  const line = (c: readonly string[]): string => c.map((x, i) => (i < 1 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  const rejected = r.runs[0]?.rejected ?? 0;
  return [
    `cluster: ${r.cluster.label} (${r.cluster.gpus} GPUs)`,
    `trace: ${r.trace.name}, ${r.trace.jobs} jobs over ${secs(r.trace.spanS)}, offered load as recorded ${r.trace.recordedLoad}${rejected ? `; ${rejected} jobs larger than the cluster left out` : ''}`,
    line(head),
    ...rows.map(line),
    ...(r.timing ? ['', 'decision time per job (real): ' + r.timing.map((t) => `${t.policy}@${t.load ?? 'rec'}/${t.localityPenalty}: mean ${t.decisionUs.mean} µs, p99 ${t.decisionUs.p99} µs, wall ${(t.wallMs / 1000).toFixed(1)} s`).join('; ')] : []),
  ].join('\n');
}

function progressBar(io: CliIO): ((run: number, runs: number, done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = '';
  return (run, runs, done, total) => {
    const share = (run + done / Math.max(1, total)) / runs;
    const width = 30;
    const fill = Math.round(share * width);
    const text = `\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] run ${run + 1}/${runs}, ${done}/${total} jobs`;
    if (text !== last) io.stderr(text);
    last = text;
    if (run + 1 === runs && done === total) io.stderr('\n');
  };
}

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'replay a job trace in virtual time through the scheduler, per policy, load and locality',
  async run(argv: string[], io: CliIO): Promise<number> {
    const parsed = parseFlags('simulate', argv, FLAGS, USAGE, io);
    if (typeof parsed === 'number') return parsed;
    const values = parsed;
    try {
      const cluster = await clusterOf(values, io);
      const traceArg = values.trace as string | undefined;
      if (traceArg === undefined) throw new UsageError('--trace: required');
      const trace = parseTrace(await readText(traceArg, 'trace', io), basename(traceArg));
      const policies = policiesNamed(list('policy', values.policy as string | undefined, DEFAULT_POLICIES));
      const loads = numbers('load', values.load as string | undefined, ['0.7', '0.9', '1.1'], (x) => x > 0 && x <= 100, "an offered load > 0 (or 'recorded')");
      const localities = numbers('locality', values.locality as string | undefined, ['0', '0.1', '0.3'], (x) => x >= 0 && x <= 10, 'a slowdown per level in 0..10') as number[];
      const limit = int('limit', values.limit as string | undefined);
      const progress = progressBar(io);
      const report = runSimulation({
        cluster,
        trace,
        policies,
        loads,
        localities,
        ...(limit !== undefined ? { limit } : {}),
        ...(values.timing ? { clock: () => performance.now() } : {}),
        ...(progress ? { onProgress: progress } : {}),
        ...(values.starts ? { recordStarts: true } : {}),
      });
      if (values.out) {
        const files = await writeReportFiles(resolve(io.cwd, values.out as string), report);
        if (!values.json) io.stderr(`wrote ${files.join(', ')}\n`);
      }
      io.stdout(values.json ? reportJson(report) : `${reportTable(report)}\n`);
      return EXIT_OK;
    } catch (e) {
      if (e instanceof UsageError || (isGantryError(e) && (e.code === 'INVALID_ARGUMENT' || e.code === 'PARSE_FAILED'))) {
        io.stderr(`gantry simulate: ${(e as Error).message}\n`);
        return EXIT_USAGE;
      }
      throw e;
    }
  },
};
