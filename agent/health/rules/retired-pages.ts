/** Page retirement (pre-Ampere): a pending retirement waits for a driver reload; many retired pages mean RMA. */
import type { Finding, Rule } from '../types.js';

export const RETIRED_PAGES_CHECK = 'retired-pages';

export const retiredPagesRule: Rule = (input, config) => {
  const out: Finding[] = [];
  for (const s of input.probe?.samples ?? []) {
    const r = s.retiredPages;
    if (r.pending === true) {
      out.push({
        check: RETIRED_PAGES_CHECK,
        severity: 'warn',
        gpu: s.index,
        scope: 'node',
        key: 'pending',
        evidence: 'page retirement pending: reload the driver (reboot) when idle',
      });
    }
    const total = (r.singleBitCount ?? 0) + (r.doubleBitCount ?? 0);
    if (config.retiredPagesFailAt > 0 && total >= config.retiredPagesFailAt) {
      out.push({
        check: RETIRED_PAGES_CHECK,
        severity: 'fail',
        gpu: s.index,
        scope: 'node',
        key: 'count',
        evidence: `${total} retired pages (single-bit ${r.singleBitCount ?? 0}, double-bit ${r.doubleBitCount ?? 0}) >= ${config.retiredPagesFailAt}`,
      });
    }
  }
  return out;
};
