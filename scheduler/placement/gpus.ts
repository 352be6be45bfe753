/**
 * GPU choice inside one node. Each rank takes `gpusPerRank` free healthy GPUs inside
 * one link group where the node's links are known: first an NVLink/NVSwitch group,
 * then within it a PCIe-switch group, then a NUMA node; at each kind the group with
 * the fewest free GPUs that still fits (best fit, keeping larger groups whole), ties
 * to the group listed first. Kinds none of whose groups can hold the rank are skipped,
 * so a rank spans groups only when no group holds it. GPUs are taken lowest index
 * first, so consecutive ranks get adjacent GPUs.
 */
import type { LinkGroup } from '../../shared/domain/index.js';
import { InternalError } from '../../shared/errors/index.js';

const KIND_ORDER: readonly LinkGroup['kind'][] = ['nvlink', 'pcie-switch', 'numa'];

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Groups as bitmasks by kind (nodes with up to 32 GPUs), cached per group list. */
const maskCache = new WeakMap<readonly LinkGroup[], number[][]>();

function groupMasks(groups: readonly LinkGroup[]): number[][] {
  let m = maskCache.get(groups);
  if (!m) {
    m = KIND_ORDER.map((kind) => groups.filter((g) => g.kind === kind).map((g) => g.gpus.reduce((acc, x) => (acc | (1 << x)) >>> 0, 0)));
    maskCache.set(groups, m);
  }
  return m;
}

/** Pick GPUs for `ranks` ranks of `perRank` GPUs from `free` (ascending indices). */
export function chooseGpus(free: readonly number[], groups: readonly LinkGroup[], ranks: number, perRank: number): number[][] {
  const max = free.length ? (free[free.length - 1] as number) : 0;
  if (max >= 32 || groups.some((g) => g.gpus.some((x) => x >= 32))) return chooseGpusSlow(free, groups, ranks, perRank);
  let freeMask = 0;
  for (const g of free) freeMask = (freeMask | (1 << g)) >>> 0;
  const byKind = groups.length ? groupMasks(groups) : null;
  const out: number[][] = [];
  for (let r = 0; r < ranks; r++) {
    let cand = freeMask;
    if (byKind) {
      for (const masks of byKind) {
        let best = 0;
        let bestCount = Infinity;
        for (const gm of masks) {
          const inter = (gm & cand) >>> 0;
          const c = popcount(inter);
          if (c >= perRank && c < bestCount) {
            best = inter;
            bestCount = c;
          }
        }
        if (bestCount !== Infinity) cand = best;
      }
    }
    const pick: number[] = [];
    for (let bit = 0; bit < 32 && pick.length < perRank; bit++) if (cand & (1 << bit)) pick.push(bit);
    if (pick.length < perRank) throw new InternalError(`node has ${popcount(cand)} free GPUs for a rank of ${perRank}`);
    for (const g of pick) freeMask = (freeMask & ~(1 << g)) >>> 0;
    out.push(pick);
  }
  return out;
}

function chooseGpusSlow(free: readonly number[], groups: readonly LinkGroup[], ranks: number, perRank: number): number[][] {
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
