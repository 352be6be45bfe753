/**
 * The simulator's plots (issue 22, "plots a person can open"), from a SimReport alone: Vega-Lite
 * specs compiled to Vega and rendered headless to SVG (vega's View with renderer 'none' and
 * toSVG(): no canvas, no browser, no fonts read), plus one self-contained HTML report (the SVGs
 * inline and the key table; no external URL). Pure: no I/O; the CLI writes the files.
 *
 * - summary.svg: mean and p99 JCT and queueing delay (hours) by offered load, one bar per policy;
 * - occupancy.svg: busy GPUs over virtual time, one line per policy, one panel per offered load;
 * - queue-delay-cdf.svg: the queueing-delay CDF, one panel per gang-size bucket (columns) and
 *   load (rows), one line per policy (delay on a symlog axis);
 * - topology-heat.svg: domain use (used / total GPUs) at the moment of peak busy GPUs, one panel
 *   per policy, at the highest load.
 * Every plot shows the runs of one locality penalty (the reference: the middle one of the
 * report's, e.g. 10% of 0/10/30%), named in its title; the table has every run.
 * Same report in, same bytes out: the inputs are sorted and vega's output has no clock or random ids.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { GANG_SIZE_BUCKETS, type SimReport, type SimRun } from './report.js';

export interface ReportFile {
  name: string;
  content: string;
}

const FONT = 'Helvetica, Arial, sans-serif';
const CONFIG = { font: FONT, view: { stroke: '#ddd' }, axis: { labelFontSize: 10, titleFontSize: 11 }, legend: { labelFontSize: 10, titleFontSize: 11 } };

const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;
const loadLabel = (load: number | null): string => (load === null ? 'as recorded' : `load ${load}`);

/** The locality penalty the plots show: the middle one of the report's (sorted), 0 with none. */
export function referencePenalty(report: SimReport): number {
  const ps = [...new Set(report.runs.map((r) => r.localityPenalty))].sort((a, b) => a - b);
  return ps[Math.floor((ps.length - 1) / 2)] ?? 0;
}

/** The runs one plot shows, in a fixed order (load, then policy). */
function runsAt(report: SimReport, penalty: number): SimRun[] {
  return report.runs
    .filter((r) => r.localityPenalty === penalty)
    .sort((a, b) => (a.load ?? -1) - (b.load ?? -1) || (a.policy < b.policy ? -1 : a.policy > b.policy ? 1 : 0));
}

/** Policies in the report's own order (the legend's order). */
function policies(report: SimReport): string[] {
  return [...new Set(report.runs.map((r) => r.policy))];
}

function loads(runs: readonly SimRun[]): string[] {
  return [...new Set(runs.map((r) => r.load))].sort((a, b) => (a ?? -1) - (b ?? -1)).map(loadLabel);
}

export function occupancySpec(report: SimReport): TopLevelSpec {
  const penalty = referencePenalty(report);
  const runs = runsAt(report, penalty);
  const values = runs.flatMap((r) => r.series.map((s) => ({ policy: r.policy, load: loadLabel(r.load), tS: s.tS, busyGpus: s.busyGpus })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `GPU occupancy over time: ${report.cluster.label}, ${report.trace.name} (locality penalty ${pct(penalty)} per level)`,
    data: { values },
    facet: { column: { field: 'load', type: 'ordinal', sort: loads(runs), title: null } },
    spec: {
      width: 320,
      height: 200,
      mark: { type: 'line', strokeWidth: 1.2, interpolate: 'step-after' },
      encoding: {
        x: { field: 'tS', type: 'quantitative', title: 'time (s)' },
        y: { field: 'busyGpus', type: 'quantitative', title: 'busy GPUs', scale: { domain: [0, report.cluster.gpus] } },
        color: { field: 'policy', type: 'nominal', sort: policies(report), title: 'policy' },
      },
    },
    config: CONFIG,
  } as TopLevelSpec;
}

export function queueDelaySpec(report: SimReport): TopLevelSpec {
  const penalty = referencePenalty(report);
  const runs = runsAt(report, penalty);
  const values = runs.flatMap((r) =>
    r.queueDelayByGangSize.flatMap((b) => b.cdf.map(([delayS, share]) => ({ policy: r.policy, load: loadLabel(r.load), bucket: `${b.bucket} GPUs`, delayS, share }))),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Queueing delay CDF by gang size (locality penalty ${pct(penalty)} per level)`,
    data: { values },
    facet: {
      column: { field: 'bucket', type: 'ordinal', sort: GANG_SIZE_BUCKETS.map((b) => `${b} GPUs`), title: null },
      row: { field: 'load', type: 'ordinal', sort: loads(runs), title: null },
    },
    spec: {
      width: 170,
      height: 140,
      mark: { type: 'line', strokeWidth: 1.2, interpolate: 'step-after' },
      encoding: {
        x: { field: 'delayS', type: 'quantitative', title: 'queueing delay (s)', scale: { type: 'symlog' } },
        y: { field: 'share', type: 'quantitative', title: 'share of jobs', scale: { domain: [0, 1] } },
        color: { field: 'policy', type: 'nominal', sort: policies(report), title: 'policy' },
      },
    },
    config: CONFIG,
  } as TopLevelSpec;
}

const SUMMARY_METRICS: ReadonlyArray<{ name: string; of: (r: SimRun) => number }> = [
  { name: 'mean JCT (h)', of: (r) => r.jct.meanS },
  { name: 'p99 JCT (h)', of: (r) => r.jct.p99S },
  { name: 'mean queueing delay (h)', of: (r) => r.queueDelay.meanS },
  { name: 'p99 queueing delay (h)', of: (r) => r.queueDelay.p99S },
];

/** Mean and p99 JCT and queueing delay (hours) by offered load: one panel per figure, one bar per policy. */
export function summarySpec(report: SimReport): TopLevelSpec {
  const penalty = referencePenalty(report);
  const runs = runsAt(report, penalty);
  const values = runs.flatMap((r) => SUMMARY_METRICS.map((m) => ({ policy: r.policy, load: loadLabel(r.load), metric: m.name, hours: Math.round((m.of(r) / 3600) * 1000) / 1000 })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `JCT and queueing delay by offered load: ${report.cluster.label}, ${report.trace.name} (locality penalty ${pct(penalty)} per level)`,
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', sort: SUMMARY_METRICS.map((m) => m.name), title: null } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 190,
      height: 180,
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'load', type: 'ordinal', sort: loads(runs), title: 'offered load' },
        xOffset: { field: 'policy', type: 'nominal', sort: policies(report) },
        y: { field: 'hours', type: 'quantitative', title: 'hours' },
        color: { field: 'policy', type: 'nominal', sort: policies(report), title: 'policy' },
        tooltip: [{ field: 'policy' }, { field: 'load' }, { field: 'metric' }, { field: 'hours' }],
      },
    },
    config: CONFIG,
  } as TopLevelSpec;
}

/** The runs the heat map shows: the highest load at the reference penalty, one per policy. */
export function heatRuns(report: SimReport): SimRun[] {
  const runs = runsAt(report, referencePenalty(report));
  const top = runs.reduce<number | null | undefined>((m, r) => (m === undefined || (r.load ?? -1) > (m ?? -1) ? r.load : m), undefined);
  return runs.filter((r) => r.load === top);
}

export function heatSpec(report: SimReport): TopLevelSpec {
  const runs = heatRuns(report);
  const first = runs[0]?.heat;
  const values = runs.flatMap((r) => {
    const index = new Map<string, number>();
    return r.heat.cells.map((c) => {
      const i = index.get(c.row) ?? 0;
      index.set(c.row, i + 1);
      return { policy: `${r.policy} (t = ${r.heat.tS} s)`, row: c.row, slot: i, domain: c.domain, used: c.totalGpus > 0 ? c.usedGpus / c.totalGpus : 0, usedGpus: c.usedGpus, totalGpus: c.totalGpus };
    });
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Topology heat at peak busy GPUs, ${runs[0] ? loadLabel(runs[0].load) : ''}: ${first?.level ?? 'domain'} use by ${first?.rowLevel ?? 'cluster'}`,
    data: { values },
    facet: { row: { field: 'policy', type: 'nominal', sort: runs.map((r) => `${r.policy} (t = ${r.heat.tS} s)`), title: null } },
    spec: {
      width: { step: 9 },
      height: { step: 12 },
      mark: { type: 'rect', stroke: '#fff', strokeWidth: 0.5 },
      encoding: {
        x: { field: 'slot', type: 'ordinal', title: `${first?.level ?? 'domain'} (in its ${first?.rowLevel ?? 'cluster'})`, axis: { labels: false, ticks: false } },
        y: { field: 'row', type: 'ordinal', title: first?.rowLevel ?? 'cluster', axis: { labelLimit: 80 } },
        color: { field: 'used', type: 'quantitative', title: 'used / total GPUs', scale: { domain: [0, 1], scheme: 'blues' } },
        tooltip: [{ field: 'domain' }, { field: 'usedGpus' }, { field: 'totalGpus' }],
      },
    },
    config: CONFIG,
  } as TopLevelSpec;
}

/**
 * Element ids numbered from 0 within one SVG, in order of first use: vega numbers its gradients
 * and clips from module-wide counters, which would make the second render of a report differ.
 */
export function renumberIds(svg: string): string {
  const ids = new Map<string, string>();
  const prefixCount = new Map<string, number>();
  for (const m of svg.matchAll(/\bid="([A-Za-z_-]*?)(\d+)"/g)) {
    const id = `${m[1]}${m[2]}`;
    if (ids.has(id)) continue;
    const n = prefixCount.get(m[1] as string) ?? 0;
    prefixCount.set(m[1] as string, n + 1);
    ids.set(id, `${m[1]}${n}`);
  }
  if (ids.size === 0) return svg;
  return svg.replace(/(\bid="|url\(#|href="#)([A-Za-z_-]*?\d+)(?=[")])/g, (all, lead: string, id: string) => {
    const to = ids.get(id);
    return to === undefined ? all : `${lead}${to}`;
  });
}

/** A Vega-Lite spec rendered headless to SVG. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return renumberIds(await view.toSVG());
  } finally {
    view.finalize();
  }
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The key table: every run, in the report's order. */
export function keyTable(report: SimReport): string {
  const head = ['policy', 'load', 'locality penalty', 'occupancy', 'mean JCT (s)', 'p99 JCT (s)', 'p99 queueing delay (s)', 'makespan (s)', 'gangs in minimal domain', 'stranded free GPUs'];
  const rows = report.runs.map((r) => [
    r.policy,
    r.load === null ? 'as recorded' : String(r.load),
    pct(r.localityPenalty),
    pct(r.occupancy),
    String(r.jct.meanS),
    String(r.jct.p99S),
    String(r.queueDelay.p99S),
    String(r.makespanS),
    pct(r.locality.minimalDomainShare),
    pct(r.fragmentation.meanStrandedShare),
  ]);
  const cells = (tag: string, xs: readonly string[]): string => xs.map((x) => `<${tag}>${escapeHtml(x)}</${tag}>`).join('');
  return `<table>\n<thead><tr>${cells('th', head)}</tr></thead>\n<tbody>\n${rows.map((r) => `<tr>${cells('td', r)}</tr>`).join('\n')}\n</tbody>\n</table>`;
}

export function reportHtml(report: SimReport, svgs: ReadonlyArray<{ title: string; svg: string }>): string {
  const title = `gantry simulate: ${report.trace.name} on ${report.cluster.label}`;
  const style = 'body{font-family:' + FONT + ';margin:2em;color:#222}table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}figure{margin:2em 0}';
  const figures = svgs.map((s) => `<figure>\n<figcaption>${escapeHtml(s.title)}</figcaption>\n${s.svg}\n</figure>`).join('\n');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    `<head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${style}</style></head>`,
    '<body>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p>${escapeHtml(`${report.cluster.nodes} nodes, ${report.cluster.gpus} GPUs (levels ${report.cluster.levels.join(', ')}); ${report.trace.jobs} jobs over ${report.trace.spanS} s, recorded load ${report.trace.recordedLoad}.`)}</p>`,
    keyTable(report),
    figures,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The plots and the HTML report of a SimReport: the files `gantry simulate --out DIR` writes. */
export async function renderReport(report: SimReport): Promise<{ files: ReportFile[] }> {
  const plots: Array<{ name: string; title: string; spec: TopLevelSpec }> = [
    { name: 'summary.svg', title: 'JCT and queueing delay by offered load', spec: summarySpec(report) },
    { name: 'occupancy.svg', title: 'GPU occupancy over time', spec: occupancySpec(report) },
    { name: 'queue-delay-cdf.svg', title: 'Queueing delay CDF by gang size', spec: queueDelaySpec(report) },
    { name: 'topology-heat.svg', title: 'Topology heat map at peak load', spec: heatSpec(report) },
  ];
  const files: ReportFile[] = [];
  for (const p of plots) files.push({ name: p.name, content: await renderSvg(p.spec) });
  files.push({ name: 'report.html', content: reportHtml(report, plots.map((p, i) => ({ title: p.title, svg: (files[i] as ReportFile).content }))) });
  return { files };
}
