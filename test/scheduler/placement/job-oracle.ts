/**
 * A whole job checked against the exhaustive solver (oracle.ts), unit after unit, the way the
 * docs define each kind, with nothing taken from the engine's request code:
 * - the mode of each kind: Training packed when it names a required or preferred level, else
 *   filled; every Inference replica packed; every Batch shard filled;
 * - the units: Training one gang, Inference `replicas.max` replicas (at least `replicas.min`
 *   must fit), Batch `shards` shards (all must fit); each unit sees the ones before it reserved;
 * - spread: a replica goes to nodes whose spread-level domain holds fewer replicas than t, for
 *   the smallest t that fits (t = 1: domains no replica uses yet).
 * Each placed unit must be valid, reach the optimum key of its mode and, when packed, the domain
 * objective (4) picks; a unit the engine did not place must have no placement at all.
 */
import type { ClusterSnapshot } from '../../../scheduler/topology/index.js';
import type { GangRequest, Placement } from '../../../scheduler/placement/index.js';
import type { JobSpec } from '../../../shared/jobspec/index.js';
import { compareKeys, keyOf, placementSet, solve, validate } from './oracle.js';

/** The mode the docs give each kind (docs/placement.md "How kinds map to placement"). */
export function documentedMode(spec: JobSpec): 'pack' | 'fill' {
  if (spec.kind === 'Inference') return 'pack';
  if (spec.kind === 'Batch') return 'fill';
  return spec.topology.required || spec.topology.preferred ? 'pack' : 'fill';
}

/** The gang of one unit, as the oracle reads it (mode always set). */
export function unitGang(spec: JobSpec): GangRequest {
  const gang: GangRequest = { ranks: spec.ranks, gpusPerRank: spec.gpusPerRank, mode: documentedMode(spec) };
  if (Object.keys(spec.accelerator).length) gang.accelerator = { ...spec.accelerator };
  if (Object.keys(spec.topology).length) gang.topology = { ...spec.topology };
  if (spec.sameFirmware) gang.sameFirmware = true;
  if (spec.nodeSelector && Object.keys(spec.nodeSelector).length) gang.nodeSelector = spec.nodeSelector;
  return gang;
}

/**
 * GPU choice as docs/placement.md states it, checked rank by rank on each node: at each link
 * kind in turn (NVLink group, PCIe switch, NUMA node), when some group of that kind holds the
 * rank among the GPUs still in scope, the rank lies inside one such group with the fewest free
 * GPUs in scope (best fit), and the scope narrows to it. Empty when every rank complies.
 */
export function checkGpuChoice(snapshot: ClusterSnapshot, p: Placement): string[] {
  const tree = snapshot.tree;
  const errs: string[] = [];
  const taken = new Map<number, Set<number>>();
  for (const r of p.ranks) {
    const used = taken.get(r.nodeId) ?? new Set<number>();
    taken.set(r.nodeId, used);
    let scope: number[] = [];
    for (let g = 0; g < (tree.gpuCount[r.nodeId] as number); g++) if (snapshot.isFree(r.nodeId, g) && !used.has(g)) scope.push(g);
    for (const kind of ['nvlink', 'pcie-switch', 'numa'] as const) {
      const fitting = (tree.linkGroups[r.nodeId] ?? [])
        .filter((lg) => lg.kind === kind)
        .map((lg) => scope.filter((x) => lg.gpus.includes(x)))
        .filter((inScope) => inScope.length >= r.gpus.length);
      if (!fitting.length) continue;
      const holding = fitting.filter((inScope) => r.gpus.every((x) => inScope.includes(x)));
      if (!holding.length) {
        errs.push(`rank ${r.rank} on ${r.node}: GPUs ${r.gpus.join(',')} span ${kind} groups, though one holds ${r.gpus.length}`);
        break;
      }
      const tightest = Math.min(...fitting.map((x) => x.length));
      const chosen = holding.reduce((a, b) => (b.length < a.length ? b : a));
      if (chosen.length !== tightest) errs.push(`rank ${r.rank} on ${r.node}: ${kind} group with ${chosen.length} free GPUs, a tighter one holds it (${tightest})`);
      scope = chosen;
    }
    for (const x of r.gpus) used.add(x);
  }
  return errs;
}

export interface JobCheck {
  /** Problems found (empty: the job was placed exactly as documented and optimally). */
  failures: string[];
  /** Units the oracle says fit, one after the other. */
  unitsFit: number;
  /** Whether the job as a whole fits (at least its minimum of units). */
  fits: boolean;
}

/**
 * Check the engine's units against the oracle. `snapshot` is the cluster before the job (it is
 * reserved on as units are checked: pass a clone); `units` are the engine's placements in order.
 * `allOrNothing`: the caller keeps no unit of a job that does not fit (a scheduling cycle starts
 * all of a job's minimum or nothing), so then only the verdict is compared.
 */
export function checkJob(snapshot: ClusterSnapshot, spec: JobSpec, units: readonly Placement[], engineFits: boolean, allOrNothing = false): JobCheck {
  if (allOrNothing && !engineFits) {
    if (units.length) return { failures: [`does not fit, yet ${units.length} units kept`], unitsFit: 0, fits: false };
    const oracle = checkJob(snapshot, spec, [], true, false);
    const fits = oracle.fits;
    return { failures: fits ? [`does not fit, but the oracle fits ${oracle.unitsFit} units`] : [], unitsFit: oracle.unitsFit, fits };
  }
  const tree = snapshot.tree;
  const gang = unitGang(spec);
  const count = spec.kind === 'Inference' ? spec.replicas.max : spec.kind === 'Batch' ? spec.shards : 1;
  const min = spec.kind === 'Inference' ? spec.replicas.min : count;
  const failures: string[] = [];
  const spreadLevel = spec.kind === 'Inference' && spec.spread !== undefined ? tree.levelIndex(spec.spread) : -1;
  const usage = spreadLevel >= 0 ? new Int32Array(tree.domainCount[spreadLevel] as number) : null;
  let unitsFit = 0;
  for (let i = 0; i < count; i++) {
    let ans = solve(snapshot, gang);
    let allowed: Uint8Array | undefined;
    if (usage && ans.feasible) {
      const anc = tree.ancestor[spreadLevel] as Int32Array;
      for (let t = 1; ; t++) {
        allowed = new Uint8Array(tree.nodeCount);
        for (let n = 0; n < tree.nodeCount; n++) allowed[n] = (usage[anc[n] as number] as number) < t ? 1 : 0;
        ans = solve(snapshot, gang, allowed);
        if (ans.feasible) break;
      }
    }
    const p = units[i];
    if (!ans.feasible) {
      if (p) failures.push(`unit ${i}: placed on ${placementSet(p).map((n) => tree.nodeName(n)).join(',')}, but nothing fits`);
      break;
    }
    unitsFit++;
    if (!p) {
      failures.push(`unit ${i}: not placed, but nodes ${ans.bestSet?.map((n) => tree.nodeName(n)).join(',')} hold it (key ${JSON.stringify(ans.bestKey)})`);
      break;
    }
    if (p.mode !== gang.mode) failures.push(`unit ${i}: placed in ${p.mode} mode, the docs say ${gang.mode}`);
    const errs = [...validate(snapshot, gang, p), ...checkGpuChoice(snapshot, p)];
    if (errs.length) failures.push(`unit ${i}: invalid: ${errs.join('; ')}`);
    const set = placementSet(p);
    if (allowed && set.some((n) => allowed?.[n] !== 1)) failures.push(`unit ${i}: not spread: uses a ${spec.spread} that holds more replicas than needed`);
    const key = keyOf(snapshot, gang, set);
    if (compareKeys(key, ans.bestKey as number[]) !== 0) {
      failures.push(`unit ${i}: key ${JSON.stringify(key)} on ${set.map((n) => tree.nodeName(n)).join(',')}, optimum ${JSON.stringify(ans.bestKey)} on ${ans.bestSet?.map((n) => tree.nodeName(n)).join(',')}`);
    }
    if (ans.bestDomain !== null && p.domain !== ans.bestDomain) failures.push(`unit ${i}: in ${p.level} ${p.domain}, objective (4) picks ${ans.bestDomain}`);
    snapshot.reserve(p);
    if (usage) {
      const anc = tree.ancestor[spreadLevel] as Int32Array;
      for (const d of new Set(set.map((n) => anc[n] as number))) usage[d] = (usage[d] as number) + 1;
    }
  }
  if (units.length > unitsFit && failures.length === 0) failures.push(`${units.length} units placed, the oracle fits ${unitsFit}`);
  const fits = unitsFit >= min;
  if (engineFits !== fits) failures.push(`engine says fits=${engineFits}, the oracle ${fits} (${unitsFit} of ${count} units, minimum ${min})`);
  return { failures, unitsFit, fits };
}
