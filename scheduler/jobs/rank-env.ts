/** Pure: the environment each rank gets, and the MASTER_PORT choice. No I/O, no clock. */
import { rankEpoch, type JobRecord, type NodeRecord, type RankRecord } from '../../shared/domain/index.js';
import { servicePort } from '../../shared/jobspec/index.js';
import type { Placement } from '../placement/index.js';

/**
 * RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR (rank 0's node address on the
 * fabric), MASTER_PORT (each unit's own: the gang's, a replica's, a shard's), CUDA_VISIBLE_DEVICES as GPU UUIDs (ROCR_VISIBLE_DEVICES on AMD),
 * GANTRY_JOB_ID, GANTRY_TOPOLOGY_ADDR, and for an Inference job with an SLO GANTRY_SERVICE_PORT
 * (the port its replica must serve on: slo.port + replica index); the spec's env first, so ours
 * win (the validator already refuses reserved names in a spec).
 */
export function rankEnv(
  job: JobRecord,
  rank: RankRecord,
  nodes: (name: string) => NodeRecord | undefined,
  units: UnitIndex = unitIndex(job),
): Record<string, string> {
  const unit = units.get(rank.unit);
  const unitRanks = unit?.ranks ?? [rank];
  const sameNode = unit?.byNode.get(rank.node) ?? [rank];
  const rank0 = unitRanks[0] ?? rank;
  const node = nodes(rank.node);
  const vendor = node?.inventory.gpus[0]?.vendor ?? 'nvidia';
  const devices = rank.gpuUuids.length === rank.gpus.length ? rank.gpuUuids.join(',') : rank.gpus.join(',');
  const localRank = rank.rank - unitRanks[0]!.rank;
  const env: Record<string, string> = {
    ...job.spec.env,
    RANK: String(localRank),
    WORLD_SIZE: String(unitRanks.length),
    LOCAL_RANK: String(sameNode.findIndex((r) => r.rank === rank.rank)),
    LOCAL_WORLD_SIZE: String(sameNode.length),
    MASTER_ADDR: nodes(rank0.node)?.address || rank0.node,
    MASTER_PORT: String(rank0.masterPort ?? job.masterPort),
    GANTRY_JOB_ID: job.id,
    GANTRY_JOB_EPOCH: String(rankEpoch(job, rank)),
    GANTRY_UNIT: String(rank.unit),
    GANTRY_TOPOLOGY_ADDR: rank.topologyAddress,
  };
  if (job.spec.kind === 'Inference' && job.spec.slo) env.GANTRY_SERVICE_PORT = String(servicePort(job.spec.slo, rank.unit));
  if (vendor === 'amd') env.ROCR_VISIBLE_DEVICES = devices;
  else env.CUDA_VISIBLE_DEVICES = devices;
  return env;
}

/** A job's ranks by unit, and within a unit by node, in rank order (rankEnv's lookups). */
export type UnitIndex = Map<number, { ranks: RankRecord[]; byNode: Map<string, RankRecord[]> }>;

/**
 * Built once per job and shared by all its ranks' environments: looking the unit's ranks up for
 * each rank made a gang's starts quadratic (a 512-rank gang scanned 262,144 ranks twice).
 */
export function unitIndex(job: JobRecord): UnitIndex {
  const out: UnitIndex = new Map();
  for (const r of job.ranks) {
    let u = out.get(r.unit);
    if (!u) out.set(r.unit, (u = { ranks: [], byNode: new Map() }));
    u.ranks.push(r);
    const onNode = u.byNode.get(r.node);
    if (onNode) onNode.push(r);
    else u.byNode.set(r.node, [r]);
  }
  return out;
}

/** The lowest port of the range not reserved on that node, or 0 when all are taken. */
export function pickMasterPort(range: { min: number; max: number }, reserved: ReadonlySet<number>): number {
  for (let p = range.min; p <= range.max; p++) if (!reserved.has(p)) return p;
  return 0;
}

/**
 * Picks a MASTER_PORT on the rank 0 node of each placement and reserves it, or, when a node has
 * none left, reserves nothing and says why.
 */
export function pickUnitPorts(ports: { range: { min: number; max: number }; reserved: Map<string, Set<number>> } | undefined, placements: readonly Pick<Placement, 'ranks'>[]): number[] | string {
  if (!ports) return placements.map(() => 0);
  const picked: Array<[string, number]> = [];
  for (const p of placements) {
    const head = p.ranks[0]?.node ?? '';
    const reserved = ports.reserved.get(head) ?? new Set<number>();
    const port = pickMasterPort(ports.range, reserved);
    if (port === 0) {
      for (const [n, q] of picked) ports.reserved.get(n)!.delete(q);
      return `every port of the MASTER_PORT range is taken on ${head}`;
    }
    ports.reserved.set(head, reserved.add(port));
    picked.push([head, port]);
  }
  return picked.map(([, q]) => q);
}

/** Full-jitter-free, deterministic backoff for requeues: initial × 2^(attempt-1), capped. */
export function requeueDelayMs(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
}
