/**
 * The cluster description `gantry plan` reads (docs/placement.md "Cluster file"):
 * levels above the node, finest first, and the nodes with their GPUs, place in the
 * tree and current state. Text in, tree and snapshot out; errors name the field.
 */
import { z } from 'zod';
import type { LinkGroup } from '../../shared/domain/index.js';
import { InvalidArgumentError } from '../../shared/errors/index.js';
import { parseDocument, zodToInvalidArgument, MAX_DOCUMENT_BYTES, LABEL_KEY, LABEL_KEY_WORDS, NODE_NAME_LABEL } from '../../shared/jobspec/index.js';
import { buildTopology, type TopologyNodeInput, type TopologyTree } from './tree.js';
import { ClusterSnapshot, type NodeState } from './snapshot.js';

const gpuIndex = z.int().min(0).max(1023);
const group = z.union([
  z.array(gpuIndex).min(1),
  z.strictObject({ kind: z.enum(['nvlink', 'pcie-switch', 'numa']), gpus: z.array(gpuIndex).min(1) }),
]);

const nodeSchema = z.strictObject({
  name: z.string().min(1).max(253),
  gpus: z.int().min(0).max(1024),
  model: z.string().max(128).optional(),
  vendor: z.enum(['nvidia', 'amd']).optional(),
  memoryGiB: z.number().min(0).max(1_000_000).optional(),
  driver: z.string().max(64).optional(),
  cuda: z.string().max(64).optional(),
  domains: z.record(z.string(), z.string().min(1).max(253)).optional(),
  labels: z.record(z.string(), z.string().max(253)).optional(),
  gpuGroups: z.array(group).max(256).optional(),
  usedGpus: z.array(gpuIndex).optional(),
  unhealthyGpus: z.array(gpuIndex).optional(),
  health: z.enum(['ok', 'warn', 'fail']).optional(),
  cordoned: z.boolean().optional(),
});

const fileSchema = z.strictObject({
  levels: z.array(z.string()).max(16).optional(),
  nodes: z.array(nodeSchema).min(1).max(200_000),
});

export interface ClusterDescription {
  /** Configured levels above the node, finest first. */
  levels: string[];
  nodes: TopologyNodeInput[];
  /** Per-cycle state by node name. */
  states: Map<string, NodeState>;
}

/** Validate a parsed cluster document. */
export function validateClusterDescription(value: unknown): ClusterDescription {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError('', 'a cluster file is a mapping with `levels` and `nodes`');
  }
  const r = fileSchema.safeParse(value);
  if (!r.success) throw zodToInvalidArgument(r.error);
  const levels = r.data.levels ?? [];
  const nodes: TopologyNodeInput[] = [];
  const states = new Map<string, NodeState>();
  r.data.nodes.forEach((n, i) => {
    const f = `nodes[${i}]`;
    const checkIdx = (list: readonly number[] | undefined, field: string): void => {
      list?.forEach((g, gi) => {
        if (g >= n.gpus) throw new InvalidArgumentError(`${f}.${field}[${gi}]`, `GPU index ${g} is not in 0..${n.gpus - 1}`);
      });
    };
    checkIdx(n.usedGpus, 'usedGpus');
    checkIdx(n.unhealthyGpus, 'unhealthyGpus');
    const linkGroups: LinkGroup[] = (n.gpuGroups ?? []).map((g, gi) => {
      const lg: LinkGroup = Array.isArray(g) ? { kind: 'nvlink', gpus: [...g] } : { kind: g.kind, gpus: [...g.gpus] };
      lg.gpus.forEach((x, xi) => {
        if (x >= n.gpus) throw new InvalidArgumentError(`${f}.gpuGroups[${gi}]${Array.isArray(g) ? '' : '.gpus'}[${xi}]`, `GPU index ${x} is not in 0..${n.gpus - 1}`);
      });
      return lg;
    });
    const input: TopologyNodeInput = { name: n.name, gpus: n.gpus, vendor: n.vendor ?? 'nvidia', linkGroups };
    if (n.domains) input.domains = { ...n.domains };
    if (n.model !== undefined) input.model = n.model;
    if (n.memoryGiB !== undefined) input.memoryGiB = n.memoryGiB;
    if (n.driver !== undefined) input.driver = n.driver;
    if (n.cuda !== undefined) input.cuda = n.cuda;
    if (n.labels) {
      for (const key of Object.keys(n.labels)) {
        if (!LABEL_KEY.test(key)) throw new InvalidArgumentError(`${f}.labels.${key}`, `must be ${LABEL_KEY_WORDS}`);
        if (key === NODE_NAME_LABEL) throw new InvalidArgumentError(`${f}.labels.${key}`, `is built in: every node's ${NODE_NAME_LABEL} label is its name`);
      }
      input.labels = { ...n.labels };
    }
    nodes.push(input);
    states.set(n.name, {
      usedGpus: n.usedGpus ?? [],
      unhealthyGpus: n.unhealthyGpus ?? [],
      unusable: n.health === 'fail' ? 'health fail' : n.cordoned ? 'cordoned' : null,
    });
  });
  return { levels, nodes, states };
}

export interface LoadedCluster {
  description: ClusterDescription;
  tree: TopologyTree;
  snapshot: ClusterSnapshot;
}

/** Parse (YAML or JSON), validate, build the tree and a snapshot of the described state. */
export function loadClusterText(text: string, maxBytes = 64 * MAX_DOCUMENT_BYTES): LoadedCluster {
  const description = validateClusterDescription(parseDocument(text, { maxBytes, what: 'cluster file' }));
  const tree = buildTopology(description.levels, description.nodes);
  const snapshot = ClusterSnapshot.create(tree, (name) => description.states.get(name));
  return { description, tree, snapshot };
}
