/** Random gang requests for property tests. */
import type { GangRequest } from '../../scheduler/placement/index.js';
import type { TopologyTree } from '../../scheduler/topology/index.js';
import type { Rng } from './prng.js';

/** The divisors of n from 2 up (slice sizes that divide a gang). */
export function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 2; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}

/** A random gang for a small cluster: slices, partial nodes, required/preferred levels, filters, node selectors, minimum versions. */
export function randomGang(rng: Rng, tree: TopologyTree, maxRanks = 24): GangRequest {
  const g = rng.pick([1, 1, 1, 2, 2, 4, 8]);
  const ranks = rng.int(1, maxRanks);
  const levels = tree.levels.slice(0, tree.top + 1);
  const req: GangRequest = { ranks, gpusPerRank: g };
  const topology: NonNullable<GangRequest['topology']> = {};
  const roll = rng.next();
  let capIdx = tree.top;
  if (roll < 0.4) {
    capIdx = rng.int(0, tree.top);
    topology.required = levels[capIdx] as string;
    if (rng.chance(0.3)) topology.preferred = levels[rng.int(0, capIdx)] as string;
  } else if (roll < 0.7) {
    topology.preferred = levels[rng.int(0, tree.top)] as string;
  }
  if (rng.chance(0.35)) {
    const ds = divisors(ranks);
    if (ds.length) topology.slice = { size: rng.pick(ds), level: levels[rng.int(0, Math.min(capIdx, tree.top))] as string };
  }
  if (Object.keys(topology).length) req.topology = topology;
  Object.assign(req, randomConstraints(rng));
  if (rng.chance(0.1)) req.mode = rng.pick(['pack', 'fill'] as const);
  const sel = randomSelection(rng, () => tree.nodeName(rng.int(0, tree.nodeCount - 1)));
  if (sel.nodeSelector) req.nodeSelector = sel.nodeSelector;
  if (sel.versions) req.accelerator = { ...req.accelerator, ...sel.versions };
  return req;
}

/**
 * Node selection now and then: a selector on the labels randomNodeLabels draws (or the built-in
 * gantry.io/node, any of four nodes `anyNode` picks), and minimum driver/CUDA versions.
 */
export function randomSelection(rng: Rng, anyNode: () => string): { nodeSelector?: Record<string, string | string[]>; versions?: { minDriver?: string; minCuda?: string } } {
  const out: ReturnType<typeof randomSelection> = {};
  const sel = rng.next();
  if (sel < 0.1) out.nodeSelector = { pool: 'training' };
  else if (sel < 0.16) out.nodeSelector = { zone: ['a', 'b'] };
  else if (sel < 0.18) out.nodeSelector = { pool: 'inference', zone: 'c' };
  else if (sel < 0.21) out.nodeSelector = { 'gantry.io/node': [0, 0, 0, 0].map(anyNode) };
  const ver = rng.next();
  if (ver < 0.08) out.versions = { minDriver: '550.54' };
  else if (ver < 0.1) out.versions = { minDriver: '550.60' };
  else if (ver < 0.16) out.versions = { minCuda: '12.4' };
  else if (ver < 0.18) out.versions = { minCuda: '12.5', minDriver: '535' };
  return out;
}

/** Node constraints now and then: a model glob (either case), a memory floor with a vendor, same firmware. */
export function randomConstraints(rng: Rng): Pick<GangRequest, 'accelerator' | 'sameFirmware'> {
  const out: Pick<GangRequest, 'accelerator' | 'sameFirmware'> = {};
  const a = rng.next();
  if (a < 0.12) out.accelerator = { model: 'H100*' };
  else if (a < 0.16) out.accelerator = { model: 'a100-sxm?-40gb' };
  else if (a < 0.24) out.accelerator = { minMemoryGiB: 60, vendor: 'nvidia' };
  if (rng.chance(0.1)) out.sameFirmware = true;
  return out;
}
