/**
 * The engine against an exhaustive solver on thousands of seeded random small clusters
 * (three levels, multi-node NVLink domains, partial nodes, unhealthy GPUs, failed and
 * cordoned nodes) and gangs (slices, required/preferred levels, filters, same firmware),
 * placed one after another on one snapshot with some given back in between:
 * the engine must fit exactly when some placement exists, reach the optimum of
 * objectives (1)-(3) (pack) or the least-free-first order then (2)-(3) (fill), choose among
 * the optimal domains of the best level the one objective (4) prefers, produce
 * a valid placement, and ring crossings equal to the domains used per level.
 */
import t from 'tap';
import { place, type Placement } from '../../../scheduler/placement/index.js';
import { randomSmallCluster } from '../../builders/cluster.js';
import { randomGang } from '../../builders/gang.js';
import { rng } from '../../builders/prng.js';
import { compareKeys, keyOf, placementSet, solve, validate } from './oracle.js';

const CASES = 3000;
const GANGS_PER_CASE = 3;

interface Tally {
  checked: number;
  fits: number;
  sliced: number;
  pack: number;
  fill: number;
  spanning: number;
  /** Fitting gangs with a nodeSelector or a minimum driver/CUDA version. */
  selected: number;
  failures: string[];
}

function runBatch(seed0: number, cases: number): Tally {
  const tally: Tally = { checked: 0, fits: 0, sliced: 0, pack: 0, fill: 0, spanning: 0, selected: 0, failures: [] };
  for (let c = 0; c < cases; c++) {
    const seed = seed0 + c;
    const r = rng(seed);
    const cl = randomSmallCluster(r);
    const held: Placement[] = [];
    for (let k = 0; k < GANGS_PER_CASE; k++) {
      // Now and then give back an earlier gang, so capacity views are updated both ways.
      if (held.length && r.chance(0.3)) cl.snapshot.release(held.splice(r.int(0, held.length - 1), 1)[0] as Placement);
      const req = randomGang(r, cl.tree);
      const ans = solve(cl.snapshot, req);
      const res = place(cl.snapshot, req);
      tally.checked++;
      const where = `seed ${seed} gang ${k} ${JSON.stringify(req)}`;
      if (res.fits !== ans.feasible) {
        tally.failures.push(`${where}: engine fits=${res.fits}, exhaustive fits=${ans.feasible}`);
        continue;
      }
      if (!res.fits) continue;
      tally.fits++;
      if (req.topology?.slice && req.topology.slice.size > 1) tally.sliced++;
      if (res.request.mode === 'pack') tally.pack++;
      else tally.fill++;
      if (res.placement.counts.length) tally.spanning++;
      if (req.nodeSelector || req.accelerator?.minDriver || req.accelerator?.minCuda) tally.selected++;
      const errs = validate(cl.snapshot, req, res.placement);
      if (errs.length) tally.failures.push(`${where}: invalid placement: ${errs.join('; ')}`);
      const key = keyOf(cl.snapshot, req, placementSet(res.placement));
      if (compareKeys(key, ans.bestKey as number[]) !== 0) {
        tally.failures.push(`${where}: key ${JSON.stringify(key)}, optimum ${JSON.stringify(ans.bestKey)} with nodes ${JSON.stringify(ans.bestSet?.map((n) => cl.tree.nodeName(n)))}`);
      }
      if (ans.bestDomain !== null && res.placement.domain !== ans.bestDomain) {
        tally.failures.push(`${where}: chose ${res.placement.level} ${res.placement.domain}, objective (4) picks ${ans.bestDomain} among the optimal ones`);
      }
      cl.snapshot.reserve(res.placement);
      held.push(res.placement);
    }
  }
  return tally;
}

t.test(`engine equals the exhaustive optimum on ${CASES} random clusters × ${GANGS_PER_CASE} gangs`, async (t) => {
  const tally = runBatch(1, CASES);
  t.same(tally.failures.slice(0, 5), [], `${tally.failures.length} failures`);
  t.equal(tally.checked, CASES * GANGS_PER_CASE);
  // The random mix must exercise what it claims to: fitting, slices, both modes, spanning gangs.
  // (Node selectors and minimum versions, in about a third of the gangs, leave fewer fitting than the 31% before them.)
  t.ok(tally.fits > tally.checked * 0.25, `${tally.fits} of ${tally.checked} fit`);
  t.ok(tally.sliced > 300, `${tally.sliced} fitting gangs with slices`);
  t.ok(tally.pack > 500 && tally.fill > 500, `pack ${tally.pack}, fill ${tally.fill}`);
  t.ok(tally.spanning > 500, `${tally.spanning} gangs spanning several nodes`);
  t.ok(tally.selected > 500, `${tally.selected} fitting gangs with a node selector or minimum versions`);
});
