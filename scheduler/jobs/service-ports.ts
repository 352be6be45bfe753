/**
 * SLO service port blocks, pure. An Inference job with an `slo` owns the ports `slo.port` …
 * `slo.port + replicas.max - 1` on every node that runs one of its replicas (replica i serves on
 * `slo.port + i`). Two services whose blocks overlap must not share a node: a replica of the
 * second could not bind its port. Placement keeps them apart with a node mask (PlaceOptions
 * nodeMask + maskReason), so the engine searches elsewhere and counts the reason where nothing
 * else fits. Replicas of one job never conflict (their ports differ by construction), except
 * with that job's own ranks of an earlier run that are still stopping (they still hold the port).
 */
import type { JobRecord } from '../../shared/domain/index.js';
import { servicePort, type JobSpec } from '../../shared/jobspec/index.js';
import type { Placement } from '../placement/index.js';
import type { TopologyTree } from '../topology/index.js';

/** Inclusive port range. */
export interface PortBlock {
  lo: number;
  hi: number;
}

/** The job's service port block, or null for a job without one (not Inference, or no slo). */
export function serviceBlock(spec: Pick<JobSpec, 'kind' | 'slo' | 'replicas'>): PortBlock | null {
  if (spec.kind !== 'Inference' || !spec.slo) return null;
  return { lo: servicePort(spec.slo, 0), hi: servicePort(spec.slo, Math.max(1, spec.replicas.max) - 1) };
}

export function blocksOverlap(a: PortBlock, b: PortBlock): boolean {
  return a.lo <= b.hi && b.lo <= a.hi;
}

/** `9400–9403`, or `9400` for a block of one port. */
export function blockText(b: PortBlock): string {
  return b.lo === b.hi ? String(b.lo) : `${b.lo}–${b.hi}`;
}

/** A node mask keeping a service off nodes where another block overlaps its own. */
export interface PortMask {
  nodeMask: Uint8Array;
  maskReason: string;
  /** Equal for equal masks and reasons (memo keys). */
  key: string;
}

interface Holder {
  jobId: string;
  block: PortBlock;
  /** Ranks still stopping (a requeued, cancelled or scaled-down run): they conflict with their own job too. */
  stopping: boolean;
}

/** How many conflicting jobs a reason names before "and N more". */
const NAMED = 2;

/** Which blocks are held on which node (by node id), for one cycle. Holds only what it is told. */
export class ServicePorts {
  private readonly held = new Map<number, Holder[]>();
  /** Jobs whose blocks are not held yet: held at the first use that needs them (see byNode). */
  private unheld: Iterable<JobRecord> | null = null;

  constructor(readonly tree: TopologyTree) {}

  /**
   * The blocks of these jobs (active ones: every node of their ranks), held when first needed: a
   * cycle where no job placed has a block never looks at them (a pass over every active job in
   * each cycle was a twentieth of a busy simulation). `jobs` must not change meanwhile.
   */
  static of(tree: TopologyTree, jobs: Iterable<JobRecord>): ServicePorts {
    const p = new ServicePorts(tree);
    p.unheld = jobs;
    return p;
  }

  private get byNode(): Map<number, Holder[]> {
    const jobs = this.unheld;
    if (jobs) {
      this.unheld = null;
      for (const j of jobs) this.holdJob(j);
    }
    return this.held;
  }

  /** Holds `block` for `jobId` on the named nodes (unknown names are skipped). */
  hold(jobId: string, block: PortBlock, nodes: Iterable<number>, stopping = false): void {
    for (const n of new Set(nodes)) {
      if (n < 0) continue;
      let list = this.byNode.get(n);
      if (!list) this.byNode.set(n, (list = []));
      if (!list.some((h) => h.jobId === jobId && h.stopping === stopping && h.block.lo === block.lo && h.block.hi === block.hi)) list.push({ jobId, block, stopping });
    }
  }

  /** The job's block on every node of its ranks (nothing for a job without a block). */
  holdJob(job: JobRecord): void {
    const block = serviceBlock(job.spec);
    if (block) this.hold(job.id, block, job.ranks.map((r) => this.tree.nodeId(r.node)));
  }

  /** The job's block on the nodes of new placements (a start or an added replica this cycle). */
  holdPlacements(job: JobRecord, placements: readonly Placement[]): void {
    const block = serviceBlock(job.spec);
    if (block) this.hold(job.id, block, placements.flatMap((p) => p.ranks.map((r) => r.nodeId)));
  }

  /** A copy without the (non-stopping) blocks of these jobs: what-ifs where they are gone. */
  without(jobIds: ReadonlySet<string>): ServicePorts {
    const p = new ServicePorts(this.tree);
    for (const [n, list] of this.byNode) {
      const kept = jobIds.size ? list.filter((h) => h.stopping || !jobIds.has(h.jobId)) : [...list];
      if (kept.length) p.held.set(n, kept);
    }
    return p;
  }

  /**
   * The mask for placing `job` (1: allowed), or null when its block conflicts nowhere (or it has
   * none). The reason names the job's block and the conflicting jobs' blocks, by job id.
   */
  maskFor(job: Pick<JobRecord, 'id' | 'spec'>): PortMask | null {
    const block = serviceBlock(job.spec);
    if (!block || this.byNode.size === 0) return null;
    let mask: Uint8Array | null = null;
    const others = new Map<string, Holder>();
    const excluded: number[] = [];
    for (const [n, list] of this.byNode) {
      let hit = false;
      for (const h of list) {
        if ((h.jobId === job.id && !h.stopping) || !blocksOverlap(h.block, block)) continue;
        hit = true;
        const k = `${h.jobId}\u0000${h.stopping}`;
        if (!others.has(k)) others.set(k, h);
      }
      if (!hit) continue;
      if (!mask) mask = new Uint8Array(this.tree.nodeCount).fill(1);
      mask[n] = 0;
      excluded.push(n);
    }
    if (!mask) return null;
    const named = [...others.values()].sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : Number(a.stopping) - Number(b.stopping)));
    const words = named.slice(0, NAMED).map((h) => `${h.stopping ? 'stopping ranks of ' : ''}job ${h.jobId}'s (${blockText(h.block)})`);
    const more = named.length > NAMED ? ` and ${named.length - NAMED} more` : '';
    const list = words.length === 2 && !more ? `${words[0]} and ${words[1]}` : words.join(', ') + more;
    const maskReason = `service ports ${blockText(block)} overlap ${list}`;
    excluded.sort((a, b) => a - b);
    return { nodeMask: mask, maskReason, key: `${excluded.join(',')}|${maskReason}` };
  }
}
