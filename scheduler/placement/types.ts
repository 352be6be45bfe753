/** Placement requests and outcomes: plain values, text only at the edge (explain.ts). */

/**
 * How a gang is placed.
 * - `pack`: objective (1)-(4): the lowest level whose single domain holds the gang, then
 *   the fewest domains per level below (coarsest first), the fewest nodes, then best fit.
 *   Training with a required/preferred level and every inference replica.
 * - `fill`: least free capacity first (the fullest domain and node that still fit, top
 *   down), then (2)-(3) where the gang must span domains. Unconstrained gangs and batch shards.
 */
export type PlacementMode = 'pack' | 'fill';

export interface GangRequest {
  ranks: number;
  gpusPerRank: number;
  accelerator?: {
    vendor?: 'nvidia' | 'amd';
    model?: string;
    minMemoryGiB?: number;
    /** Lowest driver version (`550.54`), compared segment by segment numerically; a node with none fails. */
    minDriver?: string;
    /** Lowest CUDA version (`12.4`), likewise. */
    minCuda?: string;
  };
  /**
   * Node labels that must all hold: label -> the value it must equal, or a list it must be one of.
   * `gantry.io/node` is every node's name.
   */
  nodeSelector?: Record<string, string | readonly string[]>;
  /**
   * The Unix account the ranks run as: only nodes whose agent allows it (runner.allowedUsers;
   * root also needs runner.allowRoot). Absent or '': the agent's own account, which every node
   * passes here (the agent checks it at start).
   */
  runAs?: string;
  topology?: {
    /** The whole gang inside one domain of this level, else it does not fit. */
    required?: string;
    /** Tried first, climbing one level at a time when it must (no cap). */
    preferred?: string;
    /** Every `size` consecutive ranks inside one domain of `level`. */
    slice?: { size: number; level: string };
  };
  /** All ranks on nodes with the same driver and CUDA versions. */
  sameFirmware?: boolean;
  /** Default: `pack` when the request names a required or preferred level, else `fill`. */
  mode?: PlacementMode;
}

export interface RankAssignment {
  rank: number;
  node: string;
  nodeId: number;
  /** GPU indices on the node, one link group where possible. */
  gpus: number[];
}

export interface LevelCount {
  level: string;
  count: number;
}

export interface DomainsUsed {
  level: string;
  /** Domains in rank order. */
  names: string[];
}

export interface Placement {
  mode: PlacementMode;
  /** The lowest level whose single domain holds every rank (objective 1). */
  level: string;
  /** That domain's name. */
  domain: string;
  /** In rank order: consecutive ranks on adjacent GPUs, nodes and domains. */
  ranks: RankAssignment[];
  /** Domains used per level, `node` first, up to the top configured level. */
  domainsUsed: DomainsUsed[];
  /**
   * Ring crossings per level (`node` first): how many of the R links rank i -> rank
   * (i+1) mod R, the wrap-around from the last rank to the first included, join two
   * different domains of that level. It equals the domains used when more than one, else 0.
   */
  ringCrossings: LevelCount[];
  /** Objective (2)-(3): domains used per level below `level`, coarsest first, ending with `node`. */
  counts: LevelCount[];
  /** Objective (4): free GPUs left, after placing, in the domains the gang touches (all levels below `level`). */
  freeGpusLeft: number;
}

/** One counted reason a gang does not fit: per node (`level: 'node'`) or per level. */
export interface Reason {
  level: string;
  reason: string;
  count: number;
}

export interface RequestSummary {
  ranks: number;
  gpusPerRank: number;
  mode: PlacementMode;
  required?: string;
  preferred?: string;
  slice?: { size: number; level: string };
}

export type PlacementResult =
  | { fits: true; placement: Placement; request: RequestSummary }
  | { fits: false; reasons: Reason[]; request: RequestSummary };
