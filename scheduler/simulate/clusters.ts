/**
 * Cluster shapes for `gantry simulate` (and the placement benchmark's, bench/clusters.ts), pure:
 * node inputs of the topology tree, deterministic names in tree order.
 *
 * - shape flags: N nodes × G GPUs, K nodes per leaf switch, L leaves per spine (levels leaf, spine);
 * - Tiresias's cluster spec CSV (`num_switch,num_node_p_switch,num_gpu_p_node,...`): one leaf
 *   per switch (level leaf);
 * - NVL72: racks (NVLink domains) of 18 trays × 4 GPUs, 8 racks per leaf, 6 leaves per spine;
 * - a `gantry plan` cluster file (scheduler/topology/cluster-file.ts), as it describes the nodes.
 */
import type { LinkGroup } from '../../shared/domain/index.js';
import { InvalidArgumentError } from '../../shared/errors/index.js';
import { validateClusterDescription, type ClusterDescription, type TopologyNodeInput } from '../topology/index.js';

export interface SimCluster {
  label: string;
  /** Levels above the node, finest first. */
  levels: string[];
  nodes: TopologyNodeInput[];
}

/** An HGX board's GPU link groups: all on NVLink, PCIe switch pairs, two NUMA halves. */
export function hgxGroups(gpus: number): LinkGroup[] {
  const all = Array.from({ length: gpus }, (_, i) => i);
  const pairs: LinkGroup[] = [];
  for (let i = 0; i + 1 < gpus; i += 2) pairs.push({ kind: 'pcie-switch', gpus: [i, i + 1] });
  if (gpus < 2) return [{ kind: 'nvlink', gpus: all }];
  return [{ kind: 'nvlink', gpus: all }, ...pairs, { kind: 'numa', gpus: all.slice(0, gpus / 2) }, { kind: 'numa', gpus: all.slice(gpus / 2) }];
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export interface ShapeFlags {
  nodes: number;
  gpusPerNode: number;
  /** Nodes per leaf switch (default: all in one leaf). */
  nodesPerLeaf?: number;
  /** Leaves per spine (default: all under one spine). */
  leavesPerSpine?: number;
}

function positive(x: number, field: string, max: number): void {
  if (!Number.isInteger(x) || x < 1 || x > max) throw new InvalidArgumentError(field, `must be a whole number in 1..${max}, got ${x}`);
}

/** N nodes × G GPUs under leaves of K nodes under spines of L leaves (levels leaf, spine). */
export function shapeCluster(f: ShapeFlags): SimCluster {
  positive(f.nodes, '--nodes', 200_000);
  positive(f.gpusPerNode, '--gpus-per-node', 1024);
  const perLeaf = f.nodesPerLeaf ?? f.nodes;
  positive(perLeaf, '--nodes-per-leaf', 200_000);
  const leaves = Math.ceil(f.nodes / perLeaf);
  const perSpine = f.leavesPerSpine ?? leaves;
  positive(perSpine, '--leaves-per-spine', 200_000);
  const w = String(f.nodes - 1).length;
  const nodes: TopologyNodeInput[] = [];
  for (let i = 0; i < f.nodes; i++) {
    const leaf = Math.floor(i / perLeaf);
    nodes.push({
      name: `node-${pad(i, w)}`,
      gpus: f.gpusPerNode,
      domains: { leaf: `leaf-${pad(leaf, String(leaves - 1).length)}`, spine: `spine-${Math.floor(leaf / perSpine)}` },
      vendor: 'nvidia',
      linkGroups: hgxGroups(f.gpusPerNode),
    });
  }
  return {
    label: `${f.nodes} nodes × ${f.gpusPerNode} GPUs; ${leaves} leaves × ${perLeaf} nodes; ${Math.ceil(leaves / perSpine)} spines × ${perSpine} leaves`,
    levels: ['leaf', 'spine'],
    nodes,
  };
}

/** Tiresias's cluster spec: `num_switch,num_node_p_switch,num_gpu_p_node,num_cpu_p_node,mem_p_node` (one row). */
export function tiresiasCluster(text: string, name: string): SimCluster {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((c) => c.trim());
  const row = (lines[1] ?? '').split(',').map((c) => c.trim());
  const get = (c: string): number => {
    const i = header.indexOf(c);
    if (i < 0) throw new InvalidArgumentError(`${name}:1:${c}`, 'column missing from the header (a Tiresias cluster spec: num_switch,num_node_p_switch,num_gpu_p_node,...)');
    const x = Number(row[i]);
    if (!Number.isInteger(x) || x < 1) throw new InvalidArgumentError(`${name}:2:${c}`, `must be a whole number ≥ 1, got ${JSON.stringify(row[i] ?? '')}`);
    return x;
  };
  const switches = get('num_switch');
  const perSwitch = get('num_node_p_switch');
  const gpus = get('num_gpu_p_node');
  const c = shapeCluster({ nodes: switches * perSwitch, gpusPerNode: gpus, nodesPerLeaf: perSwitch });
  return { label: `${name}: ${switches} switch${switches === 1 ? '' : 'es'} × ${perSwitch} nodes × ${gpus} GPUs`, levels: ['leaf'], nodes: c.nodes.map((n) => ({ ...n, domains: { leaf: n.domains!.leaf! } })) };
}

export const NVL72_NODES_PER_RACK = 18;
export const NVL72_RACKS_PER_LEAF = 8;
export const NVL72_LEAVES_PER_SPINE = 6;

/** GB200 NVL72: `racks` NVLink domains of 18 trays × 4 GPUs; 8 racks per leaf, 6 leaves per spine (levels nvlink, leaf, spine). */
export function nvl72Cluster(racks: number): SimCluster {
  positive(racks, 'nvl72 racks', 10_000);
  const nodes: TopologyNodeInput[] = [];
  for (let r = 0; r < racks; r++) {
    const leaf = Math.floor(r / NVL72_RACKS_PER_LEAF);
    const spine = Math.floor(leaf / NVL72_LEAVES_PER_SPINE);
    for (let i = 0; i < NVL72_NODES_PER_RACK; i++) {
      nodes.push({
        name: `gb-${pad(r, 3)}-${pad(i, 2)}`,
        gpus: 4,
        domains: { nvlink: `nvl72-${pad(r, 3)}`, leaf: `leaf-${pad(leaf, 2)}`, spine: `spine-${spine}` },
        vendor: 'nvidia',
        model: 'GB200',
        memoryGiB: 186,
        linkGroups: [{ kind: 'nvlink', gpus: [0, 1, 2, 3] }],
      });
    }
  }
  const leaves = Math.ceil(racks / NVL72_RACKS_PER_LEAF);
  return {
    label: `${racks * NVL72_NODES_PER_RACK} nodes × 4 GPUs; ${racks} NVL72 racks × ${NVL72_NODES_PER_RACK} trays; ${leaves} leaves × ${NVL72_RACKS_PER_LEAF} racks; ${Math.ceil(leaves / NVL72_LEAVES_PER_SPINE)} spines × ${NVL72_LEAVES_PER_SPINE} leaves`,
    levels: ['nvlink', 'leaf', 'spine'],
    nodes,
  };
}

/** `nvl72:<racks>`, parsed (null: not an NVL72 shape). */
export function parseNvl72(arg: string): number | null {
  const m = /^nvl72:(\d+)$/.exec(arg);
  if (!m) {
    if (arg.startsWith('nvl72')) throw new InvalidArgumentError('--cluster', `an NVL72 shape is nvl72:<racks>, e.g. nvl72:8; got ${JSON.stringify(arg)}`);
    return null;
  }
  return Number(m[1]);
}

/** A `gantry plan` cluster file's nodes (its per-node state, used or unhealthy GPUs, is not simulated: every GPU starts free). */
export function clusterFromDescription(d: ClusterDescription, label: string): SimCluster {
  return { label: `${label}: ${d.nodes.length} nodes, ${d.nodes.reduce((a, n) => a + n.gpus, 0)} GPUs`, levels: [...d.levels], nodes: d.nodes };
}

/** A parsed cluster document (YAML or JSON object), validated as `gantry plan` validates it. */
export function clusterFromDocument(doc: unknown, label: string): SimCluster {
  return clusterFromDescription(validateClusterDescription(doc), label);
}
