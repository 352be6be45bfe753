/**
 * `gantry usage` (issue 23): GPU-hours, job counts and waiting time per user, queue, job or node
 * over a window (GetUsage), or the cluster's utilisation (--cluster, GetClusterUsage): allocated,
 * reserved-but-idle, down-or-drained and idle GPU-hours, which add up to the total. docs/usage.md.
 */
import type { Command, CliIO } from './command.js';
import { EXIT_USAGE } from './command.js';
import { runClientCommand } from './client.js';

const GROUPS = ['user', 'queue', 'job', 'node'] as const;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** A time flag: an ISO date or date-time, `now`, or a span before now (30m, 12h, 7d, 2w). Throws naming the flag. */
export function parseWhen(flag: string, text: string, nowMs: number): number {
  const t = text.trim();
  if (t === 'now') return nowMs;
  const rel = /^(\d{1,6})([mhdw])$/.exec(t);
  if (rel) return nowMs - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  if (/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms) && ms >= 0) return ms;
  }
  throw new Error(`--${flag}: ${JSON.stringify(text)} is not a time: give an ISO date (2026-12-01, 2026-12-01T08:00:00Z), now, or a span before now (30m, 12h, 7d, 2w)`);
}

export interface UsageRowView {
  key: string;
  gpuHours: number;
  gpuMs: number;
  jobs: number;
  ranks: number;
  started: number;
  waitMsTotal: number;
  waitMsMean: number;
  waitMsMax: number;
  cpuUsec: number;
}

function hours(ms: number): string {
  return (ms / 3_600_000).toFixed(3);
}

function span(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)}m`;
  return `${(ms / 3_600_000).toFixed(1)}h`;
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function usageTable(by: string, rows: readonly UsageRowView[]): string {
  const head = [by.toUpperCase(), 'GPU-HOURS', 'JOBS', 'RANKS', 'STARTED', 'MEAN-WAIT', 'MAX-WAIT'];
  const body = rows.map((r) => [r.key, hours(r.gpuMs), String(r.jobs), String(r.ranks), String(r.started), r.started ? span(r.waitMsMean) : '-', r.started ? span(r.waitMsMax) : '-']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n') + '\n';
}

export function usageCsv(by: string, rows: readonly UsageRowView[]): string {
  const head = `${by},gpu_hours,gpu_ms,jobs,ranks,started,wait_ms_total,wait_ms_mean,wait_ms_max,cpu_usec`;
  return [head, ...rows.map((r) => [csvCell(r.key), r.gpuHours, r.gpuMs, r.jobs, r.ranks, r.started, r.waitMsTotal, r.waitMsMean, r.waitMsMax, r.cpuUsec].join(','))].join('\n') + '\n';
}

const USAGE =
  '[--by user|queue|job|node] [--since WHEN] [--until WHEN] [--user NAME] [--json|--csv]\n' +
  '       gantry usage --cluster [--since WHEN] [--until WHEN] [--json|--csv]\n' +
  '  WHEN: an ISO date or date-time, now, or a span before now (30m, 12h, 7d, 2w); --since defaults to 7d, --until to now';

export const usageCommand: Command = {
  name: 'usage',
  summary: 'GPU-hours, jobs and waiting time by user, queue, job or node; --cluster: utilisation',
  run: (argv: string[], io: CliIO) =>
    runClientCommand(
      'usage',
      argv,
      io,
      {
        options: {
          by: { type: 'string' },
          since: { type: 'string' },
          until: { type: 'string' },
          user: { type: 'string' },
          cluster: { type: 'boolean' },
          json: { type: 'boolean' },
          csv: { type: 'boolean' },
        },
        positionals: 0,
        usage: USAGE,
      },
      async ({ scheduler, values }) => {
        const bad = (msg: string): number => {
          io.stderr(`gantry usage: ${msg}\nusage: gantry usage ${USAGE}\n`);
          return EXIT_USAGE;
        };
        const now = Date.now();
        let sinceMs: number;
        let untilMs: number;
        try {
          sinceMs = parseWhen('since', values.since ?? '7d', now);
          untilMs = parseWhen('until', values.until ?? 'now', now);
        } catch (e) {
          return bad((e as Error).message);
        }
        if (untilMs <= sinceMs) return bad(`--until (${new Date(untilMs).toISOString()}) must be after --since (${new Date(sinceMs).toISOString()})`);
        if (values.json && values.csv) return bad('choose --json or --csv, not both');
        const by = values.by ?? 'user';
        if (!(GROUPS as readonly string[]).includes(by)) return bad(`--by: ${JSON.stringify(by)} is not one of ${GROUPS.join(', ')}`);
        if (values.cluster && (values.by !== undefined || values.user !== undefined)) return bad('--cluster is the whole cluster: it takes no --by or --user');
        const window = { sinceUnixMs: sinceMs, untilUnixMs: untilMs };
        if (values.cluster) {
          const c = await scheduler.call('GetClusterUsage', window);
          const parts = { allocated: c.allocatedGpuMs, reserved: c.reservedGpuMs, downOrDrained: c.downOrDrainedGpuMs, idle: c.idleGpuMs };
          const view = { since: new Date(c.sinceUnixMs).toISOString(), until: new Date(c.untilUnixMs).toISOString(), nodes: c.nodes, totalGpuMs: c.totalGpuMs, ...Object.fromEntries(Object.entries(parts).map(([k, v]) => [`${k}GpuMs`, v])), totalGpuHours: c.totalGpuMs / 3_600_000 };
          if (values.json) io.stdout(JSON.stringify(view, null, 2) + '\n');
          else if (values.csv) io.stdout(`category,gpu_hours,gpu_ms\n${Object.entries({ ...parts, total: c.totalGpuMs }).map(([k, v]) => `${k},${v / 3_600_000},${v}`).join('\n')}\n`);
          else {
            const pct = (v: number): string => (c.totalGpuMs > 0 ? `${((100 * v) / c.totalGpuMs).toFixed(1)}%` : '-');
            const rows = [...Object.entries(parts), ['total', c.totalGpuMs] as const].map(([k, v]) => `${k.padEnd(16)}${hours(v).padStart(12)}  ${pct(v).padStart(6)}`);
            io.stdout(`cluster utilisation ${view.since} .. ${view.until} (${c.nodes} nodes), GPU-hours\n${rows.join('\n')}\n`);
          }
          return 0;
        }
        const res = await scheduler.call('GetUsage', { by, ...window, user: values.user ?? '' });
        const rows: UsageRowView[] = res.rows.map((r) => ({
          key: r.key,
          gpuHours: r.gpuHours,
          gpuMs: r.gpuMs,
          jobs: r.jobs,
          ranks: r.ranks,
          started: r.started,
          waitMsTotal: r.waitMsTotal,
          waitMsMean: r.started ? r.waitMsTotal / r.started : 0,
          waitMsMax: r.waitMsMax,
          cpuUsec: r.cpuUsec,
        }));
        if (values.json) io.stdout(JSON.stringify({ by, since: new Date(res.sinceUnixMs).toISOString(), until: new Date(res.untilUnixMs).toISOString(), rows }, null, 2) + '\n');
        else if (values.csv) io.stdout(usageCsv(by, rows));
        else io.stdout(rows.length ? usageTable(by, rows) : `no usage between ${new Date(res.sinceUnixMs).toISOString()} and ${new Date(res.untilUnixMs).toISOString()}\n`);
        return 0;
      },
    ),
};
