/**
 * The simulator's plots from a hand-built SimReport: the SVGs' structure (parsed with
 * fast-xml-parser: the root, one line per policy and panel, the axis titles, one heat-map cell per
 * domain), byte-identical output for the same report, and the self-contained HTML report.
 */
import t from 'tap';
import { XMLParser } from 'fast-xml-parser';
import { heatRuns, referencePenalty, renderReport } from '../../../scheduler/simulate/plots.js';
import type { SimReport } from '../../../scheduler/simulate/report.js';
import { simReport } from '../../builders/sim-report.js';

type El = Record<string, unknown>;
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', isArray: () => true, textNodeName: '#text' });

function root(svg: string): El {
  const doc = parser.parse(svg) as El;
  const svgs = doc.svg as El[] | undefined;
  if (!svgs || svgs.length !== 1) throw new Error('no single root <svg>');
  return svgs[0] as El;
}

/** Every element named `name` under `el`, depth first. */
function all(el: El, name: string, out: El[] = []): El[] {
  for (const [k, v] of Object.entries(el)) {
    if (k.startsWith('@_') || k === '#text' || !Array.isArray(v)) continue;
    for (const child of v) {
      if (typeof child !== 'object' || child === null) continue;
      if (k === name) out.push(child as El);
      all(child as El, name, out);
    }
  }
  return out;
}

const cls = (el: El): string => String((el['@_class'] as string[] | string | undefined) ?? '');
/** Paths drawn by the marks of one type (e.g. mark-line), legends and axes left out. */
const markPaths = (svg: El, type: string): number =>
  all(svg, 'g')
    .filter((g) => cls(g).includes(`mark-${type}`) && cls(g).includes('role-mark'))
    .reduce((n, g) => n + ((g.path as unknown[] | undefined)?.length ?? 0), 0);
const texts = (svg: El): string[] => all(svg, 'text').map((x) => String(x['#text'] ?? ''));

async function files(report: SimReport): Promise<Map<string, string>> {
  const out = await renderReport(report);
  return new Map(out.files.map((f) => [f.name, f.content]));
}

t.test('four SVGs and one HTML report, with the structure the report asks for', async (t) => {
  const report = simReport({ policies: ['gantry', 'topology-blind', 'first-fit'], loads: [0.7, 0.9, 1.1], penalties: [0, 0.1, 0.3], rows: 2, cellsPerRow: 3 });
  const f = await files(report);
  t.same([...f.keys()], ['summary.svg', 'occupancy.svg', 'queue-delay-cdf.svg', 'topology-heat.svg', 'report.html']);
  t.equal(referencePenalty(report), 0.1, 'the plots show the middle locality penalty');

  const sum = root(f.get('summary.svg')!);
  t.equal(markPaths(sum, 'rect'), 4 * 3 * 3, 'summary: one bar per policy and load in each of the four panels');
  for (const m of ['mean JCT (h)', 'p99 JCT (h)', 'mean queueing delay (h)', 'p99 queueing delay (h)']) t.ok(texts(sum).includes(m), `summary: a panel for ${m}`);
  t.ok(texts(sum).includes('offered load') && texts(sum).includes('hours'), 'summary: axis titles');

  const occ = root(f.get('occupancy.svg')!);
  t.equal(markPaths(occ, 'line'), 3 * 3, 'occupancy: one line per policy in each load panel');
  t.ok(texts(occ).includes('time (s)') && texts(occ).includes('busy GPUs'), 'occupancy: axis titles');
  for (const l of ['load 0.7', 'load 0.9', 'load 1.1']) t.ok(texts(occ).includes(l), `occupancy: a panel for ${l}`);
  for (const p of ['gantry', 'topology-blind', 'first-fit']) t.ok(texts(occ).includes(p), `occupancy: ${p} in the legend`);

  const cdf = root(f.get('queue-delay-cdf.svg')!);
  t.equal(markPaths(cdf, 'line'), 3 * 3 * 5, 'CDF: one line per policy in each (load, gang size) panel');
  t.ok(texts(cdf).includes('queueing delay (s)') && texts(cdf).includes('share of jobs'), 'CDF: axis titles');
  for (const b of ['1 GPUs', '2-4 GPUs', '5-8 GPUs', '9-32 GPUs', '33+ GPUs']) t.ok(texts(cdf).includes(b), `CDF: a panel for ${b}`);

  const heat = root(f.get('topology-heat.svg')!);
  const runs = heatRuns(report);
  t.same(runs.map((r) => [r.policy, r.load, r.localityPenalty]), [['first-fit', 1.1, 0.1], ['gantry', 1.1, 0.1], ['topology-blind', 1.1, 0.1]], 'heat: the highest load, one run per policy');
  t.equal(markPaths(heat, 'rect'), runs.reduce((n, r) => n + r.heat.cells.length, 0), "heat: one cell per domain of each run's heat map");
  t.ok(texts(heat).includes('leaf-0') && texts(heat).includes('leaf-1'), 'heat: one row per leaf');
  t.ok(texts(heat).includes('used / total GPUs'), 'heat: the colour legend');
});

t.test('the same report gives byte-identical files; another report does not', async (t) => {
  const a = await files(simReport());
  const b = await files(simReport());
  for (const [name, content] of a) t.equal(content, b.get(name), `${name} is byte-identical`);
  const other = await files(simReport({ samples: 21 }));
  t.not(other.get('occupancy.svg'), a.get('occupancy.svg'), 'one more sample changes the occupancy plot');
});

t.test('the HTML report is self-contained: the SVGs inline, the key table, no external URL', async (t) => {
  const report = simReport({ policies: ['gantry', 'first-fit'], loads: [null], penalties: [0] });
  const f = await files(report);
  const html = f.get('report.html')!;
  t.ok(html.startsWith('<!DOCTYPE html>'));
  t.equal((html.match(/<svg[\s>]/g) ?? []).length, 4, 'four inline SVGs');
  t.equal((html.match(/<tr>/g) ?? []).length, 1 + report.runs.length, 'a header and one row per run');
  t.match(html, /hand-built &lt;fixture&gt; &amp; co/, 'text is escaped');
  t.match(html, /as recorded/, 'a run at the recorded load says so');
  const urls = [...html.matchAll(/(?:href|src)\s*=\s*"([^"]*)"/g)].map((m) => m[1]).filter((u) => !u?.startsWith('#'));
  t.same(urls, [], 'no external href or src');
  t.notMatch(html, /<script|<link|@import|url\(http/, 'no script, stylesheet or remote resource');
});
