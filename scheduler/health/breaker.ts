/**
 * The circuit breaker on automatic drains, cordons and evictions (issue 20), pure: an automatic
 * step that would take a node out is held back when more than `maxShare` of the nodes would then
 * be out at once. Out: cordoned, draining, lost, or unhealthy (health fail) — an unhealthy node
 * the breaker kept in counts as out, so two nodes failing together both wait.
 *
 * At most floor(total × maxShare) nodes may be out (10 nodes at 0.1: 1; 20: 2), and at least one
 * whenever the share is above 0: a fleet under 10 nodes still gets its one automatic action (a
 * share of 0 turns every automatic action off). A step on a node that is already cordoned,
 * draining or lost takes nothing more out and is never held back.
 */
import type { NodeRecord } from '../../shared/domain/index.js';

type BreakerNode = Pick<NodeRecord, 'name' | 'schedulability' | 'connectivity' | 'health'>;

export function isOut(n: BreakerNode): boolean {
  return n.schedulability !== 'schedulable' || n.connectivity === 'lost' || n.health === 'fail';
}

/** The most nodes that may be out of `total` at `maxShare`: at least 1 for a share above 0 (a small epsilon: 0.29 × 100 is 28.999…). */
export function maxOutNodes(total: number, maxShare: number): number {
  if (maxShare <= 0 || total <= 0) return 0;
  return Math.max(1, Math.floor(total * maxShare + 1e-9));
}

export interface BreakerDecision {
  allowed: boolean;
  /** Nodes out after the step (others out, plus the candidate). */
  outAfter: number;
  total: number;
  maxOut: number;
  /** Held back: why, for the event and the log. */
  why?: string;
}

/** May an automatic step take `candidate` out, given every node's record (the candidate's included)? */
export function breakerDecision(nodes: Iterable<BreakerNode>, candidate: string, maxShare: number): BreakerDecision {
  let total = 0;
  let others = 0;
  let self: BreakerNode | undefined;
  for (const n of nodes) {
    total++;
    if (n.name === candidate) self = n;
    else if (isOut(n)) others++;
  }
  const maxOut = maxOutNodes(total, maxShare);
  if (self && (self.schedulability !== 'schedulable' || self.connectivity === 'lost')) return { allowed: true, outAfter: others + 1, total, maxOut };
  const outAfter = others + 1;
  if (outAfter <= maxOut) return { allowed: true, outAfter, total, maxOut };
  return { allowed: false, outAfter, total, maxOut, why: `${outAfter} of ${total} nodes would be out, more than health.maxAutoDrainShare ${maxShare} allows (${maxOut})` };
}
