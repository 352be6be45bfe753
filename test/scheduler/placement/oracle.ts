/**
 * An exhaustive reference solver for small clusters (up to ~14 eligible nodes) and an
 * independent validity check of placements. It shares no code with the engine's
 * search: it enumerates every set of nodes a gang could use, decides feasibility
 * (ranks per node within room, slice-level domains holding whole slices) in closed
 * form, and scores each set by the objective written in the issue.
 */
import type { ClusterSnapshot } from '../../../scheduler/topology/index.js';
import type { GangRequest, Placement } from '../../../scheduler/placement/index.js';

export interface OracleAnswer {
  feasible: boolean;
  /** pack: [level, counts below it coarsest first]; fill: the chain key. */
  bestKey: number[] | null;
  /** Node ids of one best set (the first found). */
  bestSet: number[] | null;
  /** pack: the domain of the best level that objective (4) picks among those holding a best set. */
  bestDomain: string | null;
}

/** Objective (4) between two domains of one level: fewer free GPUs, then fuller ancestors nearest first, then tree order. */
function tighterDomain(snap: ClusterSnapshot, l: number, a: number, b: number): number {
  const tree = snap.tree;
  let x = a;
  let y = b;
  for (let k = l; k < tree.top; k++) {
    const fx = (snap.domainFree[k] as Int32Array)[x] as number;
    const fy = (snap.domainFree[k] as Int32Array)[y] as number;
    if (fx !== fy) return fx - fy;
    x = (tree.parent[k] as Int32Array)[x] as number;
    y = (tree.parent[k] as Int32Array)[y] as number;
    if (x === y) break;
  }
  return a - b;
}

function globMatch(glob: string, s: string): boolean {
  // Independent of the engine's glob: a small recursive matcher.
  const g = glob.toLowerCase();
  const t = s.toLowerCase();
  const m = (i: number, j: number): boolean => {
    if (i === g.length) return j === t.length;
    const c = g[i];
    if (c === '*') return m(i + 1, j) || (j < t.length && m(i, j + 1));
    if (j === t.length) return false;
    return (c === '?' || c === t[j]) && m(i + 1, j + 1);
  };
  return m(0, 0);
}

/**
 * Independent of the engine's version order: numbers from the leading `digits(.digits)*` of each,
 * compared as numbers, shorter padded with zeros. Null when a version has no leading digits.
 */
function versionAtLeast(have: string, want: string): boolean | null {
  const num = (v: string): number[] | null => {
    const m = v.trim().match(/^v?[0-9]+(\.[0-9]+)*/);
    return m ? m[0].replace(/^v/, '').split('.').map(Number) : null;
  };
  const h = num(have);
  const w = num(want);
  if (!h || !w) return null;
  for (let i = 0; i < Math.max(h.length, w.length); i++) {
    const a = h[i] ?? 0;
    const b = w[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** Independent of the engine's label filter: every selector entry holds on the node's labels (gantry.io/node: its name). */
function selectorHolds(snap: ClusterSnapshot, sel: NonNullable<GangRequest['nodeSelector']>, n: number): boolean {
  const tree = snap.tree;
  const labels = new Map(tree.labels[n] ?? []);
  labels.set('gantry.io/node', tree.nodeName(n));
  return Object.entries(sel).every(([k, v]) => {
    const have = labels.get(k);
    if (have === undefined) return false;
    return Array.isArray(v) ? v.indexOf(have) >= 0 : v === have;
  });
}

export function eligible(snap: ClusterSnapshot, req: GangRequest, n: number): boolean {
  const tree = snap.tree;
  if (snap.unusable[n] !== null) return false;
  const a = req.accelerator;
  if (a?.vendor && tree.vendor[n] !== a.vendor) return false;
  if (a?.model && !globMatch(a.model, tree.model[n] ?? '')) return false;
  if (a?.minMemoryGiB !== undefined) {
    const mem = tree.memoryGiB[n] ?? 0;
    if (mem <= 0 || mem < a.minMemoryGiB) return false;
  }
  if (a?.minDriver !== undefined && versionAtLeast(tree.driver[n] ?? '', a.minDriver) !== true) return false;
  if (a?.minCuda !== undefined && versionAtLeast(tree.cuda[n] ?? '', a.minCuda) !== true) return false;
  if (req.nodeSelector && !selectorHolds(snap, req.nodeSelector, n)) return false;
  return true;
}

function freeOf(snap: ClusterSnapshot, n: number): number {
  const tree = snap.tree;
  let f = 0;
  for (let g = 0; g < (tree.gpuCount[n] as number); g++) if (snap.isFree(n, g)) f++;
  return f;
}

interface Shape {
  R: number;
  g: number;
  S: number;
  Ls: number;
  cap: number;
  mode: 'pack' | 'fill';
}

function shapeOf(snap: ClusterSnapshot, req: GangRequest): Shape {
  const tree = snap.tree;
  const t = req.topology ?? {};
  const S = t.slice ? t.slice.size : 1;
  const Ls = t.slice && S > 1 ? tree.levelIndex(t.slice.level) : 0;
  const cap = t.required ? tree.levelIndex(t.required) : tree.top;
  const mode = req.mode ?? (t.required || t.preferred ? 'pack' : 'fill');
  return { R: req.ranks, g: req.gpusPerRank, S, Ls, cap, mode };
}

/** Domain counts per level for a node set: counts[l] = distinct level-l domains. */
function countsOf(snap: ClusterSnapshot, set: readonly number[]): number[] {
  const tree = snap.tree;
  const out: number[] = [];
  for (let l = 0; l <= tree.top; l++) {
    const s = new Set<number>();
    for (const n of set) s.add((tree.ancestor[l] as Int32Array)[n] as number);
    out.push(s.size);
  }
  return out;
}

function lambdaOf(counts: readonly number[]): number {
  let l = 0;
  while ((counts[l] as number) > 1) l++;
  return l;
}

/** The objective key of a node set (smaller is better), per the order. */
export function keyOf(snap: ClusterSnapshot, req: GangRequest, set: readonly number[]): number[] {
  const tree = snap.tree;
  const sh = shapeOf(snap, req);
  const counts = countsOf(snap, set);
  const lambda = lambdaOf(counts);
  if (sh.mode === 'pack') {
    const key = [lambda];
    for (let l = lambda - 1; l >= 0; l--) key.push(counts[l] as number);
    return key;
  }
  // fill: from the top, while the set sits in one child: (0, free GPUs of that child, its id);
  // at the first level where it spans: (1, counts from that level down).
  const key: number[] = [];
  for (let l = tree.top - 1; l >= 0; l--) {
    if ((counts[l] as number) === 1) {
      const d = (tree.ancestor[l] as Int32Array)[set[0] as number] as number;
      key.push(0, (snap.domainFree[l] as Int32Array)[d] as number, d);
    } else {
      key.push(1);
      for (let k = l; k >= 0; k--) key.push(counts[k] as number);
      break;
    }
  }
  return key;
}

export function compareKeys(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

/** Whether `set` (every node used at least once) can hold the gang. */
function feasible(snap: ClusterSnapshot, sh: Shape, set: readonly number[], room: Int32Array): boolean {
  const tree = snap.tree;
  const anc = tree.ancestor[sh.Ls] as Int32Array;
  const lo = new Map<number, number>();
  const hi = new Map<number, number>();
  for (const n of set) {
    const d = anc[n] as number;
    lo.set(d, (lo.get(d) ?? 0) + 1);
    hi.set(d, (hi.get(d) ?? 0) + (room[n] as number));
  }
  let minSum = 0;
  let maxSum = 0;
  for (const [d, l] of lo) {
    const h = hi.get(d) as number;
    const minMult = Math.ceil(l / sh.S) * sh.S;
    const maxMult = Math.floor(h / sh.S) * sh.S;
    if (minMult > maxMult) return false;
    minSum += minMult;
    maxSum += maxMult;
  }
  return minSum <= sh.R && sh.R <= maxSum;
}

/** The best placement of `req` over the eligible nodes (and, given `allowed`, only those with a 1 there). */
export function solve(snap: ClusterSnapshot, req: GangRequest, allowed?: Uint8Array): OracleAnswer {
  const tree = snap.tree;
  const sh = shapeOf(snap, req);
  const room = new Int32Array(tree.nodeCount);
  const cand: number[] = [];
  for (let n = 0; n < tree.nodeCount; n++) {
    if (allowed && allowed[n] !== 1) continue;
    if (!eligible(snap, req, n)) continue;
    room[n] = Math.floor(freeOf(snap, n) / sh.g);
    if ((room[n] as number) > 0) cand.push(n);
  }
  if (cand.length > 16) throw new Error(`oracle: ${cand.length} candidate nodes is too many`);
  let bestKey: number[] | null = null;
  let bestSet: number[] | null = null;
  let bestDomains: number[] = [];
  const total = 1 << cand.length;
  for (let mask = 1; mask < total; mask++) {
    const set: number[] = [];
    for (let i = 0; i < cand.length; i++) if (mask & (1 << i)) set.push(cand[i] as number);
    if (set.length > sh.R) continue;
    if (req.sameFirmware) {
      const f0 = `${tree.driver[set[0] as number]}/${tree.cuda[set[0] as number]}`;
      if (set.some((n) => `${tree.driver[n]}/${tree.cuda[n]}` !== f0)) continue;
    }
    const counts = countsOf(snap, set);
    if (lambdaOf(counts) > sh.cap) continue;
    if (!feasible(snap, sh, set, room)) continue;
    const key = keyOf(snap, req, set);
    const cmp = bestKey ? compareKeys(key, bestKey) : -1;
    const domain = (tree.ancestor[lambdaOf(counts)] as Int32Array)[set[0] as number] as number;
    if (cmp < 0) {
      bestKey = key;
      bestSet = set;
      bestDomains = [domain];
    } else if (cmp === 0 && !bestDomains.includes(domain)) bestDomains.push(domain);
  }
  let bestDomain: string | null = null;
  if (bestKey && sh.mode === 'pack') {
    const l = bestKey[0] as number;
    const d = bestDomains.sort((a, b) => tighterDomain(snap, l, a, b))[0] as number;
    bestDomain = tree.domainName(l, d);
  }
  return { feasible: bestKey !== null, bestKey, bestSet, bestDomain };
}

/** Problems with a placement, checked from first principles (empty when none). */
export function validate(snap: ClusterSnapshot, req: GangRequest, p: Placement): string[] {
  const tree = snap.tree;
  const sh = shapeOf(snap, req);
  const errs: string[] = [];
  if (p.ranks.length !== sh.R) errs.push(`${p.ranks.length} ranks, want ${sh.R}`);
  const seen = new Set<string>();
  p.ranks.forEach((r, i) => {
    if (r.rank !== i) errs.push(`rank ${i} numbered ${r.rank}`);
    if (tree.nodeName(r.nodeId) !== r.node) errs.push(`rank ${i}: node id and name disagree`);
    if (!eligible(snap, req, r.nodeId)) errs.push(`rank ${i} on ineligible node ${r.node}`);
    if (r.gpus.length !== sh.g) errs.push(`rank ${i} has ${r.gpus.length} GPUs`);
    for (const g of r.gpus) {
      const k = `${r.nodeId}/${g}`;
      if (seen.has(k)) errs.push(`GPU ${k} given twice`);
      seen.add(k);
      if (!snap.isFree(r.nodeId, g)) errs.push(`GPU ${k} not free`);
    }
  });
  // Each node's ranks are consecutive.
  const lastIdx = new Map<number, number>();
  p.ranks.forEach((r, i) => {
    const prev = lastIdx.get(r.nodeId);
    if (prev !== undefined && prev !== i - 1) errs.push(`node ${r.node} ranks not consecutive`);
    lastIdx.set(r.nodeId, i);
  });
  if (sh.S > 1) {
    const anc = tree.ancestor[sh.Ls] as Int32Array;
    for (let s = 0; s < sh.R / sh.S; s++) {
      const d = anc[(p.ranks[s * sh.S] as Placement['ranks'][number]).nodeId];
      for (let i = s * sh.S; i < (s + 1) * sh.S; i++) {
        if (anc[(p.ranks[i] as Placement['ranks'][number]).nodeId] !== d) errs.push(`slice ${s} spans two ${tree.levels[sh.Ls]} domains`);
      }
    }
  }
  const set = [...new Set(p.ranks.map((r) => r.nodeId))];
  const counts = countsOf(snap, set);
  const lambda = lambdaOf(counts);
  if (lambda > sh.cap) errs.push(`spans level ${tree.levels[lambda]} above the required ${tree.levels[sh.cap]}`);
  if (p.level !== tree.levels[lambda]) errs.push(`reports level ${p.level}, is ${tree.levels[lambda]}`);
  if (req.sameFirmware && new Set(set.map((n) => `${tree.driver[n]}/${tree.cuda[n]}`)).size > 1) errs.push('mixes firmware');
  // Ring crossings from the rank order, wrap-around included, against the domains used.
  for (let l = 0; l < tree.top; l++) {
    const anc = tree.ancestor[l] as Int32Array;
    let crossings = 0;
    for (let i = 0; i < p.ranks.length; i++) {
      const a = anc[(p.ranks[i] as Placement['ranks'][number]).nodeId];
      const b = anc[(p.ranks[(i + 1) % p.ranks.length] as Placement['ranks'][number]).nodeId];
      if (a !== b) crossings++;
    }
    const used = counts[l] as number;
    const minimal = used > 1 ? used : 0;
    if (crossings !== minimal) errs.push(`level ${tree.levels[l]}: ${crossings} ring crossings for ${used} domains`);
    const reported = p.ringCrossings.find((c) => c.level === tree.levels[l])?.count;
    if (reported !== crossings) errs.push(`level ${tree.levels[l]}: reports ${reported} crossings, ring has ${crossings}`);
    const reportedUsed = p.domainsUsed.find((d) => d.level === tree.levels[l])?.names.length;
    if (reportedUsed !== used) errs.push(`level ${tree.levels[l]}: reports ${reportedUsed} domains, uses ${used}`);
  }
  return errs;
}

export function placementSet(p: Placement): number[] {
  return [...new Set(p.ranks.map((r) => r.nodeId))];
}
