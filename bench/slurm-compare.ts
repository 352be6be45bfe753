/**
 * Where gangs really start, Gantry beside Slurm, judged against an exact optimum (issue 14,
 * point 3). Part of `npm run bench -- slurm` (bench/slurm.ts runs the phases; this file scores).
 *
 * Shape n256g8: 8 leaves × 32 nodes × 8 GPUs, 2 spines of 4 leaves. Six seeded occupancies of
 * 30–60% busy GPUs (bench/slurm-compare-cases.ts) are built on both sides: Slurm with pinned
 * blockers (bench/slurm-compare-slurm.ts), Gantry with blockers placed through cordons
 * (bench/slurm-compare-gantry.ts); both read back and compared with the plan before any gang.
 * Gangs (whole-node, 1-GPU ranks, 4-GPU ranks; `preferred: leaf` on Gantry) are submitted one at
 * a time and judged by the nodes they started on. The yardstick is bench/placement-oracle.ts
 * (exact for two levels, independent of the engine). A placement is worse than the optimum when
 * its (spines, leaves, nodes) is lexicographically greater.
 *
 * The phases run one after the other (256 slurmd, then 256 agents): the cases are fixed by the
 * seeds, so this is the same comparison as running them side by side, at half the load.
 */
import type { BenchRow } from './suite.js';
import { compareCost, costText, optimum, score, type Cost } from './placement-oracle.js';
import { gangText, leafSummary, N256G8, type Gang, type GangKind, type Occupancy } from './slurm-compare-cases.js';

/** One side's outcome on one occupancy; readBack is its busy GPUs per node after the blockers. */
export interface SideRun {
  readBack: number[];
  gangs: Array<{ nodes?: number[]; error?: string; ms: number; jobId?: number | string }>;
  setupMs: number;
}

export type Side = { runs: Map<number, SideRun> } | { notRun: string };

interface Judged {
  cost?: Cost;
  worse?: boolean;
  nodes?: number[];
  error?: string;
  ms?: number;
}

export interface GangDetail {
  seed: number;
  kind: GangKind;
  ranks: number;
  gpusPerRank: number;
  optimum: (Cost & { leafSet: number[] }) | null;
  gantry: Judged;
  slurm: Judged;
}

/** Node indexes as simNNNN-free text: "leaf 2: 64,65,70; leaf 5: ...". */
function nodesText(nodes: readonly number[]): string {
  const byLeaf = new Map<number, number[]>();
  for (const n of [...new Set(nodes)].sort((a, b) => a - b)) {
    const l = Math.floor(n / N256G8.nodesPerLeaf);
    byLeaf.set(l, [...(byLeaf.get(l) ?? []), n]);
  }
  return [...byLeaf].map(([l, ns]) => `leaf ${l}: ${ns.join(',')}`).join('; ');
}

function judge(side: Side, seed: number, index: number, occ: Occupancy, gang: Gang, best: Cost | null): Judged {
  if ('notRun' in side) return { error: `not run (${side.notRun})` };
  const run = side.runs.get(seed);
  if (!run) return { error: 'no run for this seed' };
  const r = run.gangs[index];
  if (!r) return { error: 'no result' };
  if (!r.nodes) return { error: r.error ?? 'did not start', ms: r.ms };
  const cost = score(N256G8, r.nodes);
  // A placement on nodes without the room is a broken comparison, not a score.
  const bad = [...new Set(r.nodes)].filter((n) => N256G8.gpusPerNode - occ.busy[n]! < gang.gpusPerRank);
  if (bad.length) return { cost, nodes: r.nodes, ms: r.ms, error: `started on nodes without ${gang.gpusPerRank} free GPUs in the plan: ${bad.join(',')}` };
  return { cost, nodes: r.nodes, ms: r.ms, worse: best ? compareCost(cost, best) > 0 : undefined };
}

export function scoreComparison(occs: readonly Occupancy[], gangs: readonly Gang[], gantry: Side, slurm: Side): GangDetail[] {
  const out: GangDetail[] = [];
  for (const occ of occs) {
    const free = occ.busy.map((b) => N256G8.gpusPerNode - b);
    gangs.forEach((g, i) => {
      const best = optimum(N256G8, free, g.ranks, g.gpusPerRank);
      out.push({ seed: occ.seed, kind: g.kind, ranks: g.ranks, gpusPerRank: g.gpusPerRank, optimum: best, gantry: judge(gantry, occ.seed, i, occ, g, best), slurm: judge(slurm, occ.seed, i, occ, g, best) });
    });
  }
  return out;
}

/**
 * A gang's detail for the JSON: each side's nodes as one string, "node×ranks" sorted by node
 * (×ranks left out where a node holds one rank, and for Slurm, whose NodeList has no counts).
 */
export function compactDetail(d: GangDetail): Record<string, unknown> {
  const side = (j: Judged): Record<string, unknown> => {
    if (!j.nodes) return { ...j };
    const per = new Map<number, number>();
    for (const n of j.nodes) per.set(n, (per.get(n) ?? 0) + 1);
    const nodes = [...per].sort((a, b) => a[0] - b[0]).map(([n, k]) => (k > 1 ? `${n}×${k}` : String(n))).join(' ');
    return { ...j, nodes };
  };
  return { ...d, gantry: side(d.gantry), slurm: side(d.slurm) };
}

/** Whether each side's read-back busy GPUs equal the plan, per seed. */
export function readBackCheck(occs: readonly Occupancy[], side: Side): Array<{ seed: number; nodesDiffering: number; firstDiffering?: string }> {
  if ('notRun' in side) return [];
  return occs.map((o) => {
    const rb = side.runs.get(o.seed)?.readBack;
    if (!rb) return { seed: o.seed, nodesDiffering: -1, firstDiffering: 'not read' };
    const diff = o.busy.map((b, i) => (rb[i] === b ? -1 : i)).filter((i) => i >= 0);
    return { seed: o.seed, nodesDiffering: diff.length, firstDiffering: diff.length ? `node ${diff[0]}: plan ${o.busy[diff[0]!]}, read ${rb[diff[0]!]}` : undefined };
  });
}

/** The full story of a gang where a scheduler did worse than the optimum, for the log and the report. */
export function worseCase(d: GangDetail, who: 'gantry' | 'slurm', occ: Occupancy): string {
  const j = d[who];
  const leaves = leafSummary(occ).map((l) => `leaf ${l.leaf}: ${l.freeNodes} free / ${l.partialNodes} partly / ${l.fullNodes} full nodes`).join('; ');
  const room = (ns: readonly number[]): string => [...new Set(ns)].map((n) => `${n}:${N256G8.gpusPerNode - occ.busy[n]!}`).join(',');
  return [
    `${who} worse than the optimum: seed ${d.seed}, ${d.kind} ${gangText(d)}`,
    `  ${who}: ${j.cost ? costText(j.cost) : '?'} — ${nodesText(j.nodes ?? [])} (node:free ${room(j.nodes ?? [])})`,
    `  optimum: ${d.optimum ? `${costText(d.optimum)} in leaves ${d.optimum.leafSet.join(',')}` : 'none'}`,
    `  occupancy: ${leaves}`,
    `  free GPUs per node: ${occ.busy.map((b) => N256G8.gpusPerNode - b).join('')}`,
  ].join('\n');
}

const sideHead = (side: Side): string => ('notRun' in side ? `not run (${side.notRun})` : '');

export function comparisonRows(details: readonly GangDetail[], gantry: Side, slurm: Side, seeds: readonly number[]): BenchRow[] {
  const rows: BenchRow[] = [];
  const kinds = [...new Set(details.map((d) => d.kind))];
  const count = (ds: readonly GangDetail[], who: 'gantry' | 'slurm'): string => {
    const side = who === 'gantry' ? gantry : slurm;
    if ('notRun' in side) return 'not run';
    return String(ds.filter((d) => d[who].worse === true).length);
  };
  const failed = (ds: readonly GangDetail[], who: 'gantry' | 'slurm'): number => ds.filter((d) => d[who].cost === undefined || (d[who].error !== undefined && !d[who].error!.startsWith('not run'))).length;
  const head = `on n256g8 (8 leaves × 32 nodes × 8 GPUs, 2 spines), ${seeds.length} seeded 30–60% occupancies`;
  for (const kind of [...kinds, 'all' as const]) {
    const ds = kind === 'all' ? details : details.filter((d) => d.kind === kind);
    const gWorse = ds.filter((d) => d.gantry.worse === true).length;
    const gantryOk = !('notRun' in gantry) && gWorse === 0 && failed(ds, 'gantry') === 0;
    const perSeed = seeds.map((s) => {
      const x = ds.filter((d) => d.seed === s);
      return `${s}: ${count(x, 'gantry')}/${count(x, 'slurm')}`;
    });
    rows.push({
      scenario: `(compare) ${kind === 'all' ? 'all gangs' : `${kind} gangs`} ${head}`,
      metric: `worse than the exact optimum (spines, leaves, nodes): Gantry / Slurm / gangs${sideHead(slurm) ? ` (Slurm ${sideHead(slurm)})` : ''}; by seed Gantry/Slurm ${perSeed.join(', ')}`,
      value: `${count(ds, 'gantry')} / ${count(ds, 'slurm')} / ${ds.length}`,
      unit: 'gangs',
      target: 'Gantry 0',
      ok: 'notRun' in gantry ? undefined : gantryOk,
      anchor: kind === 'whole-node' || kind === 'all' ? 'before the fix: Gantry 6 / Slurm 5 of 66 whole-node gangs' : undefined,
    });
  }
  const nf = (who: 'gantry' | 'slurm'): string => ('notRun' in (who === 'gantry' ? gantry : slurm) ? 'not run' : String(failed(details, who)));
  const noFit = details.filter((d) => d.optimum === null).length;
  rows.push({ scenario: `(compare) all gangs ${head}`, metric: 'did not start (or started on nodes the plan had full): Gantry / Slurm; gangs the optimum says cannot fit', value: `${nf('gantry')} / ${nf('slurm')}; ${noFit}`, unit: 'gangs', target: '0 / 0; 0', ok: 'notRun' in gantry ? undefined : failed(details, 'gantry') === 0 && noFit === 0 });
  const both = details.filter((d) => d.gantry.cost && d.slurm.cost);
  if (both.length) {
    const gBetter = both.filter((d) => compareCost(d.gantry.cost!, d.slurm.cost!) < 0).length;
    const sBetter = both.filter((d) => compareCost(d.slurm.cost!, d.gantry.cost!) < 0).length;
    rows.push({ scenario: `(compare) all gangs ${head}`, metric: 'Gantry better than Slurm / Slurm better than Gantry / the same (spines, leaves, nodes)', value: `${gBetter} / ${sBetter} / ${both.length - gBetter - sBetter}`, unit: 'gangs' });
  }
  return rows;
}
