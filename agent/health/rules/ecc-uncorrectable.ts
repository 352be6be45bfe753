/** Uncorrectable ECC errors since the last driver load (volatile). Lifetime (aggregate) counts are history, not state. */
import type { Finding, Rule } from '../types.js';

export const ECC_CHECK = 'ecc-uncorrectable';

export const eccUncorrectableRule: Rule = (input) => {
  const out: Finding[] = [];
  for (const s of input.probe?.samples ?? []) {
    const n = s.ecc.volatileUncorrectable;
    if (n !== null && n > 0) {
      out.push({
        check: ECC_CHECK,
        severity: 'fail',
        gpu: s.index,
        scope: 'node',
        evidence: `${n} uncorrectable ECC error(s) since driver load (lifetime ${s.ecc.aggregateUncorrectable ?? 'n/a'})`,
      });
    }
  }
  return out;
};
