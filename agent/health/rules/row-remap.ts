/** Row remapping (Ampere and later): a failed remap needs service; a pending one needs a GPU reset. */
import type { Finding, Rule } from '../types.js';

export const ROW_REMAP_CHECK = 'row-remap';

export const rowRemapRule: Rule = (input) => {
  const out: Finding[] = [];
  for (const s of input.probe?.samples ?? []) {
    const r = s.remappedRows;
    if (!r) continue;
    if (r.failure === true) {
      out.push({
        check: ROW_REMAP_CHECK,
        severity: 'fail',
        gpu: s.index,
        scope: 'node',
        key: 'failure',
        evidence: `row remapping failed (uncorrectable remaps ${r.uncorrectable ?? 'n/a'}): GPU needs service`,
      });
    }
    if (r.pending === true) {
      out.push({
        check: ROW_REMAP_CHECK,
        severity: 'warn',
        gpu: s.index,
        scope: 'node',
        key: 'pending',
        evidence: 'row remap pending: reset the GPU when idle',
      });
    }
  }
  return out;
};
