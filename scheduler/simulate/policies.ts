/**
 * The policies `gantry simulate` compares, by name: how each trace job becomes a job spec, and
 * which cycle decides. A new policy is one more entry (the NVL72 variants join as scheduler
 * configuration through `planner` options once they exist).
 *
 * - `gantry`: the live scheduler as configured by default, each gang asking for its finest level
 *   above the node as `topology.preferred` (packed: objective (1)-(4), climbing when it must);
 * - `topology-blind`: the same cycle, the spec naming no level (filled least-free first, as
 *   bench/placement.ts scenario (c) expresses blind);
 * - `first-fit`: a baseline of the simulator's own, NOT the live scheduler: pending jobs in arrival
 *   order, each started on the first nodes in tree order with room (lowest GPU indices), no
 *   reservation (a job that fits starts, whatever waits before it).
 */
import { InvalidArgumentError } from '../../shared/errors/index.js';
import type { TopologySpec } from '../../shared/jobspec/index.js';
import type { TopologyTree } from '../topology/index.js';

export interface Policy {
  name: string;
  description: string;
  /** 'planner': the scheduler's cycle (queue order, planCycle, placement engine); 'first-fit': the simulator's baseline. */
  cycle: 'planner' | 'first-fit';
  /** The spec's topology block for a gang of this shape on this tree. */
  topology(tree: TopologyTree, gang: { ranks: number; gpusPerRank: number }): TopologySpec;
}

/** The finest configured level above the node, if the tree has one. */
function finestLevel(tree: TopologyTree): string | undefined {
  return tree.top > 1 ? tree.levels[1] : undefined;
}

export const POLICIES: ReadonlyMap<string, Policy> = new Map<string, Policy>([
  [
    'gantry',
    {
      name: 'gantry',
      description: "the live scheduler's default cycle; each gang prefers its finest level (packed, climbing when it must)",
      cycle: 'planner',
      topology: (tree) => {
        const l = finestLevel(tree);
        return l ? { preferred: l } : {};
      },
    },
  ],
  ['topology-blind', { name: 'topology-blind', description: 'the same cycle; specs name no level (filled least-free first)', cycle: 'planner', topology: () => ({}) }],
  ['first-fit', { name: 'first-fit', description: "baseline (not the live scheduler's): arrival order, first nodes in tree order with room, no reservation", cycle: 'first-fit', topology: () => ({}) }],
]);

export const DEFAULT_POLICIES: readonly string[] = ['gantry', 'topology-blind', 'first-fit'];

/** The named policies, or an error naming the unknown one. */
export function policiesNamed(names: readonly string[]): Policy[] {
  return names.map((n) => {
    const p = POLICIES.get(n);
    if (!p) throw new InvalidArgumentError('--policy', `unknown policy ${JSON.stringify(n)}; known: ${[...POLICIES.keys()].join(', ')}`);
    return p;
  });
}
