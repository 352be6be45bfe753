/** Text at the edge: a placement result as lines for `gantry plan` and `gantry job <id>`. */
import type { Placement, PlacementResult, Reason, RequestSummary } from './types.js';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function describeRequest(r: RequestSummary): string {
  const parts = [`${plural(r.ranks, 'rank')} × ${plural(r.gpusPerRank, 'GPU')}`];
  if (r.required) parts.push(`required ${r.required}`);
  if (r.preferred) parts.push(`preferred ${r.preferred}`);
  if (r.slice) parts.push(`slices of ${r.slice.size} per ${r.slice.level}`);
  parts.push(r.mode === 'pack' ? 'packed' : 'least-free first');
  return parts.join(', ');
}

/** GPU indices as short text: `0-3,6`. */
export function gpuList(gpus: readonly number[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < gpus.length) {
    let j = i;
    while (j + 1 < gpus.length && (gpus[j + 1] as number) === (gpus[j] as number) + 1) j++;
    out.push(j - i >= 2 ? `${gpus[i]}-${gpus[j]}` : gpus.slice(i, j + 1).join(','));
    i = j + 1;
  }
  return out.join(',');
}

export function placementLines(p: Placement, options: { maxRanks?: number } = {}): string[] {
  const lines: string[] = [];
  lines.push(`in ${p.level} ${p.domain}`);
  if (p.counts.length) lines.push(`domains below it: ${p.counts.map((c) => `${c.level} ${c.count}`).join(', ')}`);
  lines.push(`ring crossings: ${p.ringCrossings.map((c) => `${c.level} ${c.count}`).join(', ')}`);
  lines.push(`free GPUs left in the domains touched: ${p.freeGpusLeft}`);
  const max = options.maxRanks ?? 64;
  const shown = p.ranks.slice(0, max);
  const nodeWidth = Math.max(4, ...shown.map((r) => r.node.length));
  lines.push(`${'rank'.padEnd(6)}${'node'.padEnd(nodeWidth + 2)}gpus`);
  for (const r of shown) lines.push(`${String(r.rank).padEnd(6)}${r.node.padEnd(nodeWidth + 2)}${gpuList(r.gpus)}`);
  if (p.ranks.length > shown.length) lines.push(`... ${p.ranks.length - shown.length} more ranks`);
  return lines;
}

export function reasonLines(reasons: readonly Reason[]): string[] {
  return reasons.map((r) => (r.level === 'node' ? `${plural(r.count, 'node')}: ${r.reason}` : r.count === 1 ? `${r.level}: ${r.reason}` : `${r.level} (${r.count}): ${r.reason}`));
}

/** The whole result as text, one line per fact, ending with a newline. */
export function explainText(result: PlacementResult, options: { maxRanks?: number } = {}): string {
  const head = describeRequest(result.request);
  if (result.fits) return [`fits: ${head}`, ...placementLines(result.placement, options).map((l) => `  ${l}`)].join('\n') + '\n';
  return [`does not fit: ${head}`, ...reasonLines(result.reasons).map((l) => `  ${l}`)].join('\n') + '\n';
}
