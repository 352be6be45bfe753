/** Cluster builders for placement tests. */
import { buildTopology, ClusterSnapshot, type NodeState, type TopologyNodeInput, type TopologyTree } from '../../scheduler/topology/index.js';
import type { Rng } from './prng.js';

export interface TestNode extends TopologyNodeInput {
  state?: NodeState;
}

export interface TestCluster {
  levels: string[];
  nodes: TestNode[];
  tree: TopologyTree;
  snapshot: ClusterSnapshot;
}

export function cluster(levels: string[], nodes: TestNode[]): TestCluster {
  const tree = buildTopology(levels, nodes);
  const byName = new Map(nodes.map((n) => [n.name, n.state]));
  const snapshot = ClusterSnapshot.create(tree, (name) => byName.get(name));
  return { levels, nodes, tree, snapshot };
}

/** A node with `gpus` GPUs (default 8, HGX-like: one NVSwitch group, PCIe pairs, two NUMA halves). */
export function hgxNode(name: string, domains: Record<string, string>, extra: Partial<TestNode> = {}): TestNode {
  const gpus = extra.gpus ?? 8;
  const all = Array.from({ length: gpus }, (_, i) => i);
  const pairs = [];
  for (let i = 0; i + 1 < gpus; i += 2) pairs.push({ kind: 'pcie-switch' as const, gpus: [i, i + 1] });
  const half = Math.ceil(gpus / 2);
  return {
    name,
    gpus,
    domains,
    vendor: 'nvidia',
    model: 'H100-SXM5-80GB',
    memoryGiB: 80,
    driver: '550.54.15',
    cuda: '12.4',
    linkGroups: [{ kind: 'nvlink', gpus: all }, ...pairs, { kind: 'numa', gpus: all.slice(0, half) }, { kind: 'numa', gpus: all.slice(half) }],
    ...extra,
  };
}

/** spines × racksPerSpine × nodesPerRack HGX nodes, levels [rack, spine]. Names rack-<s>-<r>, n-<s>-<r>-<i>. */
export function rackCluster(spines: number, racksPerSpine: number, nodesPerRack: number, gpus = 8): TestCluster {
  const nodes: TestNode[] = [];
  for (let s = 0; s < spines; s++) {
    for (let r = 0; r < racksPerSpine; r++) {
      for (let i = 0; i < nodesPerRack; i++) {
        nodes.push(hgxNode(`n-${s}-${r}-${i}`, { rack: `rack-${s}-${r}`, spine: `spine-${s}` }, { gpus }));
      }
    }
  }
  return cluster(['rack', 'spine'], nodes);
}

export interface RandomClusterOptions {
  maxNodes?: number;
  minNodes?: number;
}

/**
 * A small random cluster with three levels [nvlink, leaf, spine]: multi-node NVLink
 * domains beside nodes that are their own, partial nodes, unhealthy GPUs, failed and
 * cordoned nodes, two GPU models, three driver and CUDA versions (some unknown), and
 * `pool`/`zone` labels.
 */
export function randomSmallCluster(rng: Rng, options: RandomClusterOptions = {}): TestCluster {
  const maxNodes = options.maxNodes ?? 12;
  const minNodes = options.minNodes ?? 3;
  const target = rng.int(minNodes, maxNodes);
  const nodes: TestNode[] = [];
  const spines = rng.int(1, 3);
  let k = 0;
  outer: for (;;) {
    for (let s = 0; s < spines; s++) {
      const leaves = rng.int(1, 3);
      for (let l = 0; l < leaves; l++) {
        const groups = rng.int(1, 3);
        for (let gi = 0; gi < groups; gi++) {
          const multi = rng.chance(0.5);
          const size = multi ? rng.int(2, 3) : 1;
          for (let i = 0; i < size; i++) {
            if (nodes.length >= target) break outer;
            const name = `n${String(k++).padStart(2, '0')}`;
            const domains: Record<string, string> = { leaf: `leaf-${s}-${l}`, spine: `spine-${s}` };
            if (multi) domains.nvlink = `nvl-${s}-${l}-${gi}`;
            const gpus = rng.pick([1, 2, 4, 4, 8, 8, 8]);
            const used: number[] = [];
            const unhealthy: number[] = [];
            for (let gIdx = 0; gIdx < gpus; gIdx++) {
              const roll = rng.next();
              if (roll < 0.3) used.push(gIdx);
              else if (roll < 0.37) unhealthy.push(gIdx);
            }
            const roll = rng.next();
            const unusable = roll < 0.05 ? 'health fail' : roll < 0.1 ? 'cordoned' : null;
            const node = hgxNode(name, domains, {
              gpus,
              model: rng.chance(0.85) ? 'H100-SXM5-80GB' : 'A100-SXM4-40GB',
              driver: rng.chance(0.8) ? '550.54.15' : '535.104.05',
              cuda: '12.4',
              state: { usedGpus: used, unhealthyGpus: unhealthy, unusable },
            });
            node.memoryGiB = node.model?.startsWith('A100') ? 40 : 80;
            if (rng.chance(0.3)) node.linkGroups = [];
            nodes.push(node);
          }
        }
      }
    }
  }
  const shuffled = rng.shuffle(nodes);
  // Labels for nodeSelector and more driver/CUDA versions (some unknown) for minDriver/minCuda.
  for (const node of shuffled) Object.assign(node, randomNodeLabels(rng));
  return cluster(['nvlink', 'leaf', 'spine'], shuffled);
}

/** A node's `pool`/`zone` labels, and now and then another (or an unknown) driver or CUDA version. */
export function randomNodeLabels(rng: Rng): { labels: Record<string, string>; driver?: string; cuda?: string } {
  const pool = rng.pick(['training', 'training', 'inference', '']);
  const zone = rng.pick(['a', 'b', 'c']);
  const out: ReturnType<typeof randomNodeLabels> = { labels: pool ? { pool, zone } : { zone } };
  const dv = rng.next();
  if (dv < 0.1) out.driver = '550.100.01';
  else if (dv < 0.15) out.driver = '';
  const cv = rng.next();
  if (cv < 0.1) out.cuda = '12.10';
  else if (cv < 0.2) out.cuda = '12.2';
  else if (cv < 0.25) out.cuda = '';
  return out;
}

/** A plain node with `gpus` GPUs of which `free` are free (the lowest indices are the used ones). */
export function nodeWithFree(name: string, domains: Record<string, string>, gpus: number, free: number, extra: Partial<TestNode> = {}): TestNode {
  const used = Array.from({ length: gpus - free }, (_, i) => i);
  return {
    name,
    gpus,
    domains,
    vendor: 'nvidia',
    model: 'H100-SXM5-80GB',
    memoryGiB: 80,
    driver: '550.54.15',
    cuda: '12.4',
    ...extra,
    state: { usedGpus: used, ...(extra.state ?? {}) },
  };
}
