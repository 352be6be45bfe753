/**
 * Random inputs as users write them: a cluster file (`gantry plan --cluster`) and a job spec
 * (`gantry plan --job`, `gantry submit`), as plain values to be written as YAML. They drive
 * the placement checks through the product's own entry points (the CLI, a planner cycle).
 *
 * Clusters: 2 or 3 levels above the node ([leaf, spine] or [nvlink, leaf, spine], multi-node
 * NVLink domains beside nodes that are their own), mixed node sizes (4 and 8 GPUs, now and then
 * 1 or 2), partly used nodes, unhealthy GPUs, failed and cordoned nodes, GPU link groups (one
 * NVSwitch group, two NVLink islands, PCIe pairs, NUMA halves, or none), two models and two
 * driver versions. Jobs: every kind; for each, any required/preferred combination the levels
 * allow, slices, accelerator filters and same firmware now and then; node labels with selectors
 * on them and minimum driver/CUDA versions.
 */
import { randomNodeLabels } from './cluster.js';
import { divisors, randomConstraints, randomSelection } from './gang.js';
import type { Rng } from './prng.js';

export interface ClusterDoc {
  levels: string[];
  nodes: Array<Record<string, unknown>>;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Link groups of a node with `gpus` GPUs, in the cluster file's syntax. */
function gpuGroups(rng: Rng, gpus: number): unknown[] | undefined {
  if (gpus < 2) return undefined;
  const roll = rng.next();
  if (roll < 0.25) return undefined;
  const all = range(gpus);
  const half = gpus / 2;
  const pairs = [];
  for (let i = 0; i + 1 < gpus; i += 2) pairs.push({ kind: 'pcie-switch', gpus: [i, i + 1] });
  const numa = [
    { kind: 'numa', gpus: all.slice(0, half) },
    { kind: 'numa', gpus: all.slice(half) },
  ];
  // Two NVLink islands (PCIe-era boards), or one NVSwitch group.
  const nvlink = roll < 0.45 && gpus >= 4 ? [all.slice(0, half), all.slice(half)] : [all];
  return [...nvlink, ...pairs, ...numa];
}

export function randomClusterDoc(rng: Rng, options: { minNodes?: number; maxNodes?: number } = {}): ClusterDoc {
  const threeLevels = rng.chance(0.6);
  const levels = threeLevels ? ['nvlink', 'leaf', 'spine'] : ['leaf', 'spine'];
  const target = rng.int(options.minNodes ?? 3, options.maxNodes ?? 12);
  const spines = rng.int(1, 3);
  const nodes: Array<Record<string, unknown>> = [];
  let k = 0;
  outer: for (;;) {
    for (let s = 0; s < spines; s++) {
      const leaves = rng.int(1, 3);
      for (let l = 0; l < leaves; l++) {
        const groups = rng.int(1, 3);
        for (let gi = 0; gi < groups; gi++) {
          const multi = threeLevels && rng.chance(0.4);
          const size = multi ? rng.int(2, 3) : 1;
          for (let i = 0; i < size; i++) {
            if (nodes.length >= target) break outer;
            const gpus = rng.pick([4, 4, 8, 8, 8, 1, 2]);
            const domains: Record<string, string> = { leaf: `leaf-${s}-${l}`, spine: `spine-${s}` };
            if (multi) domains.nvlink = `nvl-${s}-${l}-${gi}`;
            const used: number[] = [];
            const unhealthy: number[] = [];
            const busy = rng.pick([0, 0, 0.2, 0.4, 0.6, 1]);
            for (let g = 0; g < gpus; g++) {
              const roll = rng.next();
              if (roll < busy) used.push(g);
              else if (roll < busy + 0.05) unhealthy.push(g);
            }
            const a100 = rng.chance(0.15);
            const node: Record<string, unknown> = {
              name: `n${String(k++).padStart(2, '0')}`,
              gpus,
              model: a100 ? 'A100-SXM4-40GB' : 'H100-SXM5-80GB',
              memoryGiB: a100 ? 40 : 80,
              driver: rng.chance(0.8) ? '550.54.15' : '535.104.05',
              cuda: '12.4',
              domains,
            };
            const groupsOf = gpuGroups(rng, gpus);
            if (groupsOf) node.gpuGroups = groupsOf;
            if (used.length) node.usedGpus = used;
            if (unhealthy.length) node.unhealthyGpus = unhealthy;
            const roll = rng.next();
            if (roll < 0.04) node.health = 'fail';
            else if (roll < 0.08) node.cordoned = true;
            nodes.push(node);
          }
        }
      }
    }
  }
  const shuffled = rng.shuffle(nodes);
  // Labels for nodeSelector, and more driver/CUDA versions (some unknown) for minDriver/minCuda.
  for (const node of shuffled) Object.assign(node, randomNodeLabels(rng));
  return { levels, nodes: shuffled };
}

/**
 * A random job spec for a cluster with these configured levels. `node` and `cluster` are levels
 * too: the names a job may give run `node`, the configured levels, `cluster`.
 */
export function randomJobDoc(rng: Rng, levels: readonly string[], name = 'job'): Record<string, unknown> {
  const all = ['node', ...levels, 'cluster'];
  const kind = rng.pick(['Training', 'Training', 'Training', 'Inference', 'Batch'] as const);
  const gpusPerRank = rng.pick([1, 1, 2, 2, 4, 8]);
  const ranks = kind === 'Training' ? rng.int(1, 20) : rng.int(1, 6);
  const job: Record<string, unknown> = { kind, name, ranks, gpusPerRank, command: ['python', 'main.py'] };
  // Every required/preferred combination: none, required only, preferred only, both (preferred not coarser).
  const topology: Record<string, unknown> = {};
  let cap = all.length - 1;
  const roll = rng.next();
  if (roll < 0.3) {
    cap = rng.int(0, all.length - 1);
    topology.required = all[cap];
  } else if (roll < 0.55) {
    topology.preferred = all[rng.int(0, all.length - 1)];
  } else if (roll < 0.75) {
    cap = rng.int(0, all.length - 1);
    topology.required = all[cap];
    topology.preferred = all[rng.int(0, cap)];
  }
  if (rng.chance(0.3)) {
    const ds = divisors(ranks);
    if (ds.length) topology.slice = { size: rng.pick(ds), level: all[rng.int(0, Math.min(cap, all.length - 2))] };
  }
  if (Object.keys(topology).length) job.topology = topology;
  Object.assign(job, randomConstraints(rng));
  const sel = randomSelection(rng, () => `n${String(rng.int(0, 11)).padStart(2, '0')}`);
  if (sel.nodeSelector) job.nodeSelector = sel.nodeSelector;
  if (sel.versions) job.accelerator = { ...(job.accelerator as object | undefined), ...sel.versions };
  if (kind === 'Inference') {
    const max = rng.int(1, 3);
    job.replicas = { min: rng.int(1, max), max };
    if (rng.chance(0.6)) job.spread = rng.pick(levels);
  }
  if (kind === 'Batch') job.shards = rng.int(1, 3);
  return job;
}
