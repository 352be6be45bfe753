/**
 * Several gangs of one job on one snapshot: inference replicas spread across a level
 * (each replica packed by (1)-(4)), batch shards filled least-free first. Each placed
 * unit is reserved on the snapshot as it goes, so later units see it; release the
 * returned placements to roll the whole job back.
 */
import { InvalidArgumentError } from '../../shared/errors/index.js';
import type { ClusterSnapshot } from '../topology/index.js';
import { place, type PlaceOptions } from './engine.js';
import { resolveRequest, type JobPlacementRequest } from './request.js';
import type { GangRequest, Placement, PlacementMode, PlacementResult } from './types.js';

export interface UnitsOutcome {
  /** Reserved on the snapshot, in unit order. */
  placements: Placement[];
  /** The result of the first unit that did not fit, if one did not. */
  failed: PlacementResult | null;
  requested: number;
}

function andInto(target: Uint8Array, mask: Uint8Array | undefined): Uint8Array {
  if (mask) for (let i = 0; i < target.length; i++) if (mask[i] !== 1) target[i] = 0;
  return target;
}

/**
 * Place `count` replicas of `gang`, each its own gang (pack mode unless the request says
 * otherwise), spread across `spread`: a replica goes to domains of that level no replica
 * uses yet when it fits there, else to the least used ones.
 */
export function placeReplicas(snapshot: ClusterSnapshot, gang: GangRequest, count: number, options: PlaceOptions & { spread?: string } = {}): UnitsOutcome {
  const tree = snapshot.tree;
  const request: GangRequest = { ...gang, mode: gang.mode ?? 'pack' };
  const level = options.spread === undefined ? -1 : tree.levelIndex(options.spread);
  if (options.spread !== undefined && level < 0) {
    throw new InvalidArgumentError('spread', `unknown level "${options.spread}"; this cluster's levels are ${tree.levels.join(', ')}`);
  }
  const usage = level >= 0 ? new Int32Array(tree.domainCount[level] ?? 0) : null;
  const placements: Placement[] = [];
  for (let i = 0; i < count; i++) {
    let result: PlacementResult | null = null;
    if (usage && level >= 0) {
      const anc = tree.ancestor[level] as Int32Array;
      let maxUse = 0;
      for (const u of usage) if (u > maxUse) maxUse = u;
      for (let t = 1; t <= maxUse + 1; t++) {
        const mask = new Uint8Array(tree.nodeCount);
        for (let n = 0; n < tree.nodeCount; n++) mask[n] = (usage[anc[n] as number] as number) < t ? 1 : 0;
        result = place(snapshot, request, { ...options, nodeMask: andInto(mask, options.nodeMask), maskReason: `spread: its ${options.spread} already holds a replica` });
        if (result.fits) break;
      }
      // Reasons for a replica that fits nowhere: the unmasked verdict.
      if (result && !result.fits) result = place(snapshot, request, options);
    } else {
      result = place(snapshot, request, options);
    }
    if (!result || !result.fits) return { placements, failed: result, requested: count };
    snapshot.reserve(result.placement);
    placements.push(result.placement);
    if (usage && level >= 0) {
      const anc = tree.ancestor[level] as Int32Array;
      const seen = new Set<number>();
      for (const r of result.placement.ranks) seen.add(anc[r.nodeId] as number);
      for (const d of seen) usage[d] = (usage[d] as number) + 1;
    }
  }
  return { placements, failed: null, requested: count };
}

/** Place `count` independent shards, each least-free first (fill mode unless the request says otherwise). */
export function placeShards(snapshot: ClusterSnapshot, gang: GangRequest, count: number, options: PlaceOptions = {}): UnitsOutcome {
  return placeEach(snapshot, { ...gang, mode: gang.mode ?? 'fill' }, count, options);
}

/** `count` gangs of `request`, each placed in the request's own mode (see resolveRequest) and reserved. */
function placeEach(snapshot: ClusterSnapshot, request: GangRequest, count: number, options: PlaceOptions): UnitsOutcome {
  const placements: Placement[] = [];
  for (let i = 0; i < count; i++) {
    const result = place(snapshot, request, options);
    if (!result.fits) return { placements, failed: result, requested: count };
    snapshot.reserve(result.placement);
    placements.push(result.placement);
  }
  return { placements, failed: null, requested: count };
}

export interface JobOutcome extends UnitsOutcome {
  /** At least the job's minimum units placed (all of a training gang, min replicas, every shard). */
  fits: boolean;
  /** The mode every unit was placed in (or searched in, when none fits). */
  mode: PlacementMode;
}

/**
 * Place every unit of a job (see requestFromJobSpec), reserving them; release on !fits to roll
 * back. Each unit is placed in the request's mode: the one requestFromJobSpec chose for the kind,
 * else the engine's default (pack with a required or preferred level, else fill).
 */
export function placeJob(snapshot: ClusterSnapshot, job: JobPlacementRequest, options: PlaceOptions = {}): JobOutcome {
  // requestFromJobSpec sets the mode; a hand-built request without one gets the engine's default.
  const gang: GangRequest = job.gang.mode ? job.gang : { ...job.gang, mode: resolveRequest(snapshot.tree, job.gang).mode };
  const mode = gang.mode as PlacementMode;
  const out =
    job.kind === 'Inference'
      ? placeReplicas(snapshot, gang, job.units, job.spread === undefined ? options : { ...options, spread: job.spread })
      : placeEach(snapshot, gang, job.kind === 'Batch' ? job.units : 1, options);
  return { placements: out.placements, failed: out.failed, requested: out.requested, fits: out.placements.length >= job.minUnits, mode };
}

/** Give back every placement (rollback of a job's units). */
export function releaseAll(snapshot: ClusterSnapshot, placements: readonly Placement[]): void {
  for (let i = placements.length - 1; i >= 0; i--) snapshot.release(placements[i] as Placement);
}
