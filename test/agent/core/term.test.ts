/** The agent's term rule (agent/core/term.ts): (highest seen, incoming) → accept (new highest) or refuse. */
import t from 'tap';
import { judgeTerm } from '../../../agent/core/index.js';

t.test('the term rule, as a table', async (t) => {
  const cases: Array<[highest: number, incoming: number, accept: boolean, next: number, why: string]> = [
    [0, 0, true, 0, 'non-HA scheduler, nothing seen'],
    [0, 7, true, 7, 'the first HA term is remembered'],
    [7, 7, true, 7, 'the same leader'],
    [7, 9, true, 9, 'a newer leader raises it'],
    [9, 7, false, 9, 'a deposed leader is refused'],
    [9, 1, false, 9, 'any lower nonzero term is refused'],
    [9, 0, true, 9, 'term 0 (a scheduler without HA) is always accepted and changes nothing'],
  ];
  for (const [highest, incoming, accept, next, why] of cases) {
    t.same(judgeTerm(highest, incoming), { accept, highest: next }, `(${highest}, ${incoming}): ${why}`);
  }
});
