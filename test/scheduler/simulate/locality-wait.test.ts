/**
 * The NVL72 variants in the simulator: the live planner's locality wait (placement.localityWait)
 * through the engine, on a run worked out by hand. Two NVL72 racks (18 nodes × 4 GPUs each, one
 * leaf). At t=0 A (10 nodes, 1000 s) packs into rack 000 and B (10 nodes, 100 s) into rack 001,
 * leaving 8 + 8 free nodes. At t=1 C (14 nodes, 50 s) fits only across both racks:
 * - gantry-no-wait spreads it at t=1; gantry (the live default: reserve by size) waits like the others;
 * - a wait of 600 s (bounded, reserve, aging's 60 + 10 × 56 GPUs) or required-minimal: C waits
 *   for B's rack and starts there at t=100, when B ends;
 * - a wait of 50 s: the engine's cycle at the deadline (t=51) spreads it; a cap of 20 s: at t=21.
 * Then wait-reserve-by-size (25,600 s − 100 s per GPU) on two leaves (nvl72:16, 144 nodes each):
 * A and B (100 nodes each) fill 100 nodes of each leaf; C, more than the 44 left in either, fits
 * only across both: of 48 nodes (192 GPUs, bound 6,400 s) it waits for B's leaf; of 64 nodes (256
 * GPUs, bound 0) it spreads at once.
 */
import t from 'tap';
import { nvl72Cluster, parseTrace, policiesNamed, runSimulation, WAIT_VARIANTS } from '../../../scheduler/simulate/index.js';

const TRACE = 'submit_s,gpus,duration_s,gpus_per_node\n0,40,1000,4\n0,40,100,4\n1,56,50,4\n';

const racksOf = (nodes: readonly string[]): string => [...new Set(nodes.map((n) => n.slice(3, 6)))].sort().join('+');

t.test('a gang waits for its rack instead of spreading, as long as its policy says', async (t) => {
  const cases: Array<[string, { cS: number; racks: string; minimal: number }]> = [
    ['gantry-no-wait', { cS: 1, racks: '000+001', minimal: 2 / 3 }],
    ['gantry', { cS: 100, racks: '001', minimal: 1 }],
    ['wait-bounded-600', { cS: 100, racks: '001', minimal: 1 }],
    ['wait-reserve-600', { cS: 100, racks: '001', minimal: 1 }],
    ['wait-aging', { cS: 100, racks: '001', minimal: 1 }],
    ['wait-reserve-by-size', { cS: 100, racks: '001', minimal: 1 }],
    ['wait-reserve-by-size-cap-4h', { cS: 100, racks: '001', minimal: 1 }],
    ['required-minimal', { cS: 100, racks: '001', minimal: 1 }],
    ['wait-bounded-50', { cS: 51, racks: '000+001', minimal: 2 / 3 }],
    ['wait-bounded-600-cap-20', { cS: 21, racks: '000+001', minimal: 2 / 3 }],
    // Reserve: B's rack is due (by its time limit) after C's capped deadline, so C spreads at once.
    ['wait-reserve-600-cap-20', { cS: 1, racks: '000+001', minimal: 2 / 3 }],
  ];
  for (const [policy, want] of cases) {
    const r = runSimulation({ cluster: nvl72Cluster(2), trace: parseTrace(TRACE, 'tiny.csv'), policies: policiesNamed([policy]), loads: [null], localities: [0], recordStarts: true }).runs[0]!;
    const starts = r.starts!.map((s) => [s.tS, racksOf(s.ranks.map((x) => x.node))]);
    t.same(starts, [[0, '000'], [0, '001'], [want.cS, want.racks]], `${policy}: A, B, then C at ${want.cS} s in ${want.racks}`);
    t.equal(Math.round(r.locality.minimalDomainShare * 1000) / 1000, Math.round(want.minimal * 1000) / 1000, `${policy}: minimal-domain share`);
  }
  t.ok(WAIT_VARIANTS.length >= 5);
  t.same(policiesNamed(['gantry'])[0]!.localityWait, policiesNamed(['wait-reserve-by-size-cap-4h'])[0]!.localityWait, "gantry's locality wait is the live default, wait-reserve-by-size-cap-4h's");
  t.throws(() => policiesNamed(['wait-soon-5']), /unknown policy "wait-soon-5".*wait-reserve-<s>/);
});

t.test('wait-reserve-by-size: a gang of 256 GPUs spreads at once, a smaller one waits for its leaf', async (t) => {
  const leavesOf = (nodes: readonly string[]): string => [...new Set(nodes.map((n) => Math.floor(Number(n.slice(3, 6)) / 8)))].sort().join('+');
  const cases: Array<[string, number, { cS: number; leaves: string }]> = [
    ['gantry-no-wait', 48, { cS: 1, leaves: '0+1' }],
    ['gantry', 48, { cS: 100, leaves: '1' }],
    ['gantry', 64, { cS: 1, leaves: '0+1' }],
    ['wait-reserve-by-size', 48, { cS: 100, leaves: '1' }],
    ['wait-reserve-by-size', 64, { cS: 1, leaves: '0+1' }],
    ['wait-reserve-by-size-cap-4h', 64, { cS: 1, leaves: '0+1' }],
    ['wait-reserve-25600', 64, { cS: 100, leaves: '1' }],
  ];
  for (const [policy, cNodes, want] of cases) {
    const trace = `submit_s,gpus,duration_s,gpus_per_node\n0,400,1000,4\n0,400,100,4\n1,${cNodes * 4},50,4\n`;
    const r = runSimulation({ cluster: nvl72Cluster(16), trace: parseTrace(trace, 'leaves.csv'), policies: policiesNamed([policy]), loads: [null], localities: [0], recordStarts: true }).runs[0]!;
    const starts = r.starts!.map((s) => [s.tS, leavesOf(s.ranks.map((x) => x.node))]);
    t.same(starts, [[0, '0'], [0, '1'], [want.cS, want.leaves]], `${policy}, C of ${cNodes} nodes: at ${want.cS} s in leaf ${want.leaves}`);
  }
});
