/**
 * The yardstick of the Slurm comparison (bench/slurm-compare.ts): an exact, independent answer to
 * "how few spines, then leaves, then nodes can a gang of R ranks × g GPUs use" on a two-level
 * tree (nodes under leaves under spines), from the free GPUs of each node. It imports nothing of
 * scheduler/placement or scheduler/topology: it is checked against, never built from, the
 * engine's frontier code.
 *
 * Algorithm. A node holds floor(free / g) ranks (a rank never spans nodes; whole-node gangs are
 * g = 8). For every non-empty subset of leaves (2^L - 1 of them; L = 8 here, so 255):
 *   - skip it when its leaves' room, summed, is below R;
 *   - its cost is (distinct spines of its leaves, its leaves, the fewest nodes holding R ranks
 *     inside it), where the fewest nodes come from taking its nodes with the most room first
 *     (exact: with no structure left inside the subset, the k roomiest nodes hold the most ranks
 *     any k nodes can).
 * The optimum is the lexicographic minimum of these costs. Why this is exact: a subset's cost is an
 * upper bound of a real placement inside it (that placement may touch fewer of its leaves and
 * spines, never more), and the leaf set S* of an optimal placement is itself enumerated, with a
 * cost no worse than the optimum; so the minimum over subsets equals the optimum.
 *
 * score() gives the same (spines, leaves, nodes) for a placement a scheduler really made, from
 * the nodes it used, so the two compare directly ('worse' = lexicographically greater).
 */

/** A cluster shape: node i sits on leaf floor(i / nodesPerLeaf), under spine floor(leaf / leavesPerSpine). */
export interface TreeShape {
  leaves: number;
  nodesPerLeaf: number;
  leavesPerSpine: number;
  gpusPerNode: number;
}

export interface Cost {
  spines: number;
  leaves: number;
  nodes: number;
}

export const leafOf = (shape: TreeShape, node: number): number => Math.floor(node / shape.nodesPerLeaf);
export const spineOf = (shape: TreeShape, node: number): number => Math.floor(leafOf(shape, node) / shape.leavesPerSpine);

/** -1, 0 or 1: a is better, equal, worse than b, lexicographically on (spines, leaves, nodes). */
export function compareCost(a: Cost, b: Cost): number {
  if (a.spines !== b.spines) return a.spines < b.spines ? -1 : 1;
  if (a.leaves !== b.leaves) return a.leaves < b.leaves ? -1 : 1;
  if (a.nodes !== b.nodes) return a.nodes < b.nodes ? -1 : 1;
  return 0;
}

export const costText = (c: Cost): string => `${c.spines} spine${c.spines === 1 ? '' : 's'}, ${c.leaves} lea${c.leaves === 1 ? 'f' : 'ves'}, ${c.nodes} node${c.nodes === 1 ? '' : 's'}`;

/** The (spines, leaves, nodes) a placement uses, from the node indexes its ranks run on (repeats allowed). */
export function score(shape: TreeShape, nodes: readonly number[]): Cost {
  const set = new Set(nodes);
  return {
    spines: new Set([...set].map((n) => spineOf(shape, n))).size,
    leaves: new Set([...set].map((n) => leafOf(shape, n))).size,
    nodes: set.size,
  };
}

export interface Optimum extends Cost {
  /** The leaves (indexes) of the subset that attains it. */
  leafSet: number[];
}

/**
 * The best (spines, leaves, nodes) for ranks × gpusPerRank on a cluster whose node i has free[i]
 * free GPUs; null when the whole cluster cannot hold the gang.
 */
export function optimum(shape: TreeShape, free: readonly number[], ranks: number, gpusPerRank: number): Optimum | null {
  if (free.length !== shape.leaves * shape.nodesPerLeaf) throw new Error(`optimum: ${free.length} nodes, the shape has ${shape.leaves * shape.nodesPerLeaf}`);
  if (shape.leaves > 20) throw new Error('optimum: enumerating leaf subsets is for few leaves');
  // Per leaf: its nodes' room in ranks, roomiest first, and their total.
  const rooms: number[][] = [];
  for (let l = 0; l < shape.leaves; l++) {
    const r: number[] = [];
    for (let i = l * shape.nodesPerLeaf; i < (l + 1) * shape.nodesPerLeaf; i++) r.push(Math.floor(Math.max(0, free[i]!) / gpusPerRank));
    rooms.push(r.sort((a, b) => b - a));
  }
  const total = rooms.map((r) => r.reduce((a, b) => a + b, 0));
  let best: Optimum | null = null;
  for (let mask = 1; mask < 1 << shape.leaves; mask++) {
    const chosen: number[] = [];
    let room = 0;
    for (let l = 0; l < shape.leaves; l++) {
      if (mask & (1 << l)) {
        chosen.push(l);
        room += total[l]!;
      }
    }
    if (room < ranks) continue;
    const spines = new Set(chosen.map((l) => Math.floor(l / shape.leavesPerSpine))).size;
    const cost = { spines, leaves: chosen.length, nodes: 0 };
    // Cheap cut: a subset no better in spines and leaves than the best cannot win on nodes alone
    // unless it is equal in both, so only those are worth the node count.
    if (best && (cost.spines > best.spines || (cost.spines === best.spines && cost.leaves > best.leaves))) continue;
    const merged = chosen.flatMap((l) => rooms[l]!).sort((a, b) => b - a);
    let held = 0;
    while (held < ranks) held += merged[cost.nodes++]!;
    if (!best || compareCost(cost, best) < 0) best = { ...cost, leafSet: chosen };
  }
  return best;
}
