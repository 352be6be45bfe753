/**
 * GPU choice inside one node. Each rank takes `gpusPerRank` free healthy GPUs inside
 * one link group where the node's links are known: first an NVLink/NVSwitch group,
 * then within it a PCIe-switch group, then a NUMA node; at each kind the group with
 * the fewest free GPUs that still fits (best fit, keeping larger groups whole), ties
 * to the lower GPU indices. Kinds that no group of can hold the rank are skipped, so a
 * rank spans groups only when no group holds it. Consecutive ranks get adjacent GPUs.
 */
import type { LinkGroup } from '../../shared/domain/index.js';
import { InternalError } from '../../shared/errors/index.js';

const KIND_ORDER: readonly LinkGroup['kind'][] = ['nvlink', 'pcie-switch', 'numa'];

/** Pick GPUs for `ranks` ranks of `perRank` GPUs from `free` (ascending indices). */
export function chooseGpus(free: readonly number[], groups: readonly LinkGroup[], ranks: number, perRank: number): number[][] {
  const isFree = new Set(free);
  const out: number[][] = [];
  for (let r = 0; r < ranks; r++) {
    let cand = free.filter((g) => isFree.has(g));
    for (const kind of KIND_ORDER) {
      let best: number[] | null = null;
      for (const grp of groups) {
        if (grp.kind !== kind) continue;
        const inGroup = new Set(grp.gpus);
        const inter = cand.filter((g) => inGroup.has(g));
        if (inter.length >= perRank && (best === null || inter.length < best.length)) best = inter;
      }
      if (best) cand = best;
    }
    const pick = cand.slice(0, perRank);
    if (pick.length < perRank) throw new InternalError(`node has ${cand.length} free GPUs for a rank of ${perRank}`);
    for (const g of pick) isFree.delete(g);
    out.push(pick);
  }
  return out;
}
