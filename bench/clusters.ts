/** Benchmark cluster shapes (deterministic). */
import { buildTopology, ClusterSnapshot, type NodeState, type TopologyNodeInput, type TopologyTree } from '../scheduler/topology/index.js';
import { hgxGroups, nvl72Cluster, NVL72_LEAVES_PER_SPINE, NVL72_NODES_PER_RACK, NVL72_RACKS_PER_LEAF } from '../scheduler/simulate/index.js';
import type { Prng } from './prng.js';

export interface BenchCluster {
  name: string;
  shape: string;
  tree: TopologyTree;
  /** A fresh snapshot (all GPUs free unless `busy` says otherwise). */
  fresh(busy?: (nodeName: string) => NodeState | undefined): ClusterSnapshot;
}

function make(name: string, shape: string, levels: string[], nodes: TopologyNodeInput[]): BenchCluster {
  const tree = buildTopology(levels, nodes);
  return { name, shape, tree, fresh: (busy) => ClusterSnapshot.create(tree, busy) };
}

/** (a) and (d): 5,000 nodes × 8 GPUs, 50 racks of 100 nodes under 5 spines. */
export function hgx5000(): BenchCluster {
  const nodes: TopologyNodeInput[] = [];
  for (let s = 0; s < 5; s++) {
    for (let r = 0; r < 10; r++) {
      const rack = s * 10 + r;
      for (let i = 0; i < 100; i++) {
        nodes.push({
          name: `hgx-${String(rack).padStart(2, '0')}-${String(i).padStart(3, '0')}`,
          gpus: 8,
          domains: { rack: `rack-${String(rack).padStart(2, '0')}`, spine: `spine-${s}` },
          vendor: 'nvidia',
          model: 'H100-SXM5-80GB',
          memoryGiB: 80,
          driver: '550.54.15',
          cuda: '12.4',
          linkGroups: hgxGroups(8),
        });
      }
    }
  }
  return make('hgx5000', '5,000 nodes × 8 GPUs; 50 racks × 100 nodes; 5 spines × 10 racks', ['rack', 'spine'], nodes);
}

/** (b) Kueue's TAS performance shape: 1 block × 10 racks × 64 nodes, 8 GPUs each. */
export function kueue640(): BenchCluster {
  const nodes: TopologyNodeInput[] = [];
  for (let r = 0; r < 10; r++) {
    for (let i = 0; i < 64; i++) {
      nodes.push({
        name: `node-${r}-${String(i).padStart(2, '0')}`,
        gpus: 8,
        domains: { rack: `rack-${r}`, block: 'block-0' },
        vendor: 'nvidia',
        model: 'H100-SXM5-80GB',
        memoryGiB: 80,
        linkGroups: hgxGroups(8),
      });
    }
  }
  return make('kueue640', '640 nodes × 8 GPUs; 1 block × 10 racks × 64 nodes', ['rack', 'block'], nodes);
}

export const GB200_RACKS = 277;
export const GB200_NODES_PER_RACK = NVL72_NODES_PER_RACK;
export const GB200_RACKS_PER_LEAF = NVL72_RACKS_PER_LEAF;
export const GB200_LEAVES_PER_SPINE = NVL72_LEAVES_PER_SPINE;

/** (c) GB200 NVL72: 277 racks (NVLink domains) of 18 trays × 4 GPUs; 8 racks per leaf, 6 leaves per spine (the simulator's NVL72 shape). */
export function gb200(): BenchCluster {
  const c = nvl72Cluster(GB200_RACKS);
  return make('gb200', c.label, c.levels, c.nodes);
}

/** Random busy state: each GPU used with probability p; whole nodes busy with probability q. */
export function randomBusy(rng: Prng, gpus: number, p: number, q = 0): (name: string) => NodeState {
  const memo = new Map<string, NodeState>();
  return (name) => {
    let s = memo.get(name);
    if (!s) {
      const used: number[] = [];
      const whole = rng.next() < q;
      for (let g = 0; g < gpus; g++) if (whole || rng.next() < p) used.push(g);
      s = { usedGpus: used };
      memo.set(name, s);
    }
    return s;
  };
}
