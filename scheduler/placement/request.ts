/** A gang request checked against a tree's levels, and job specs turned into requests. */
import { InvalidArgumentError } from '../../shared/errors/index.js';
import type { JobSpec, JobKind } from '../../shared/jobspec/index.js';
import type { TopologyTree } from '../topology/index.js';
import type { GangRequest, PlacementMode, RequestSummary } from './types.js';

export interface ResolvedRequest {
  request: GangRequest;
  summary: RequestSummary;
  ranks: number;
  gpusPerRank: number;
  /** Slice size (1 when the request has no slice). */
  sliceSize: number;
  /** Slice level index (0 when the request has no slice). */
  sliceLevel: number;
  /** Slices in the gang (ranks / sliceSize). */
  slices: number;
  /** The highest level the gang may span: the required level, else the root. */
  capLevel: number;
  mode: PlacementMode;
}

function levelOf(tree: TopologyTree, name: string, field: string): number {
  const l = tree.levelIndex(name);
  if (l < 0) throw new InvalidArgumentError(field, `unknown level "${name}"; this cluster's levels are ${tree.levels.join(', ')}`);
  return l;
}

/** Check a request against the tree. Throws InvalidArgumentError naming the job spec field. */
export function resolveRequest(tree: TopologyTree, request: GangRequest): ResolvedRequest {
  const R = request.ranks;
  const g = request.gpusPerRank;
  if (!Number.isInteger(R) || R < 1) throw new InvalidArgumentError('ranks', 'must be a positive integer');
  if (!Number.isInteger(g) || g < 1) throw new InvalidArgumentError('gpusPerRank', 'must be a positive integer');
  const topo = request.topology ?? {};
  const required = topo.required !== undefined ? levelOf(tree, topo.required, 'topology.required') : -1;
  const preferred = topo.preferred !== undefined ? levelOf(tree, topo.preferred, 'topology.preferred') : -1;
  if (required >= 0 && preferred > required) {
    throw new InvalidArgumentError('topology.preferred', `must not be coarser than topology.required (${topo.required})`);
  }
  let S = 1;
  let Ls = 0;
  if (topo.slice) {
    S = topo.slice.size;
    if (!Number.isInteger(S) || S < 1) throw new InvalidArgumentError('topology.slice.size', 'must be a positive integer');
    if (R % S !== 0) throw new InvalidArgumentError('topology.slice.size', `must divide ranks (${R})`);
    Ls = levelOf(tree, topo.slice.level, 'topology.slice.level');
    if (required >= 0 && Ls > required) {
      throw new InvalidArgumentError('topology.slice.level', `must not be coarser than topology.required (${topo.required})`);
    }
    if (S === 1) Ls = 0; // slices of one rank constrain nothing
  }
  const mode: PlacementMode = request.mode ?? (required >= 0 || preferred >= 0 ? 'pack' : 'fill');
  const summary: RequestSummary = { ranks: R, gpusPerRank: g, mode };
  if (topo.required !== undefined) summary.required = topo.required;
  if (topo.preferred !== undefined) summary.preferred = topo.preferred;
  if (topo.slice) summary.slice = { size: topo.slice.size, level: topo.slice.level };
  return {
    request,
    summary,
    ranks: R,
    gpusPerRank: g,
    sliceSize: S,
    sliceLevel: Ls,
    slices: R / S,
    capLevel: required >= 0 ? required : tree.top,
    mode,
  };
}

/** What a job spec asks the placement engine for: `units` gangs of the same shape. */
export interface JobPlacementRequest {
  kind: JobKind;
  gang: GangRequest;
  /** Training 1; Inference replicas (min and max); Batch shards. */
  units: number;
  minUnits: number;
  /** Inference: the level replicas are spread across. */
  spread?: string;
}

/**
 * The placement mode of each kind, decided here once and carried on the request, so every
 * path (gantry plan, the planner, preemption and backfill what-ifs) places a kind the same way:
 * - Training: one gang, packed (1)-(4) when it names a required or preferred level, else
 *   filled least-free first;
 * - Inference: each replica a gang packed (1)-(4), replicas spread across `spread`;
 * - Batch: each shard a gang filled least-free first.
 */
export function modeForJob(spec: Pick<JobSpec, 'kind' | 'topology'>): PlacementMode {
  if (spec.kind === 'Inference') return 'pack';
  if (spec.kind === 'Batch') return 'fill';
  return spec.topology.required !== undefined || spec.topology.preferred !== undefined ? 'pack' : 'fill';
}

/**
 * A job spec as placement units of one shape; the gang's mode is always set (modeForJob).
 * `runAs`: the job's account (the scheduler's jobRunAs), for the allow-list filter; absent (a plan
 * with no agents behind it): no account filter.
 */
export function requestFromJobSpec(spec: JobSpec, runAs?: string): JobPlacementRequest {
  const gang: GangRequest = { ranks: spec.ranks, gpusPerRank: spec.gpusPerRank };
  if (runAs) gang.runAs = runAs;
  if (Object.keys(spec.accelerator).length) gang.accelerator = { ...spec.accelerator };
  if (Object.keys(spec.topology).length) {
    gang.topology = { ...spec.topology };
    if (spec.topology.slice) gang.topology.slice = { ...spec.topology.slice };
  }
  if (spec.sameFirmware) gang.sameFirmware = true;
  if (spec.nodeSelector && Object.keys(spec.nodeSelector).length) {
    gang.nodeSelector = Object.fromEntries(Object.entries(spec.nodeSelector).map(([k, v]) => [k, Array.isArray(v) ? [...v] : v]));
  }
  gang.mode = modeForJob(spec);
  const out: JobPlacementRequest = {
    kind: spec.kind,
    gang,
    units: spec.kind === 'Inference' ? spec.replicas.max : spec.kind === 'Batch' ? spec.shards : 1,
    minUnits: spec.kind === 'Inference' ? spec.replicas.min : spec.kind === 'Batch' ? spec.shards : 1,
  };
  if (spec.spread !== undefined) out.spread = spec.spread;
  return out;
}
