/**
 * The policies `gantry simulate` compares, by name: how each trace job becomes a job spec, and
 * which cycle decides, and for the NVL72 variants the live planner's locality wait. A new policy is
 * one more entry.
 *
 * - `gantry`: the live scheduler as configured by default, each gang asking for its finest level
 *   above the node as `topology.preferred` (packed: objective (1)-(4), climbing when it must), with
 *   the default locality wait (LOCALITY_WAIT_DEFAULTS: the same as `wait-reserve-by-size-cap-4h`);
 * - `gantry-no-wait`: the same with the locality wait off (the live default before issue 22);
 * - `topology-blind`: the same cycle, the spec naming no level (filled least-free first, as
 *   bench/placement.ts scenario (c) expresses blind);
 * - `first-fit`: a baseline of the simulator's own, NOT the live scheduler: pending jobs in arrival
 *   order, each started on the first nodes in tree order with room (lowest GPU indices), no
 *   reservation (a job that fits starts, whatever waits before it);
 * - `required-minimal`: the same cycle, each gang requiring its minimal level (the finest level one
 *   of whose domains holds it on the empty cluster): it waits for such a domain, however long;
 * - the NVL72 variants (issue 22): `gantry-no-wait` (preferred finest level) with the live planner's
 *   locality wait (scheduler/jobs/locality-wait.ts, `placement.localityWait`) set so, the
 *   engine keeping its LocalityClock as the job manager's cycle does:
 *   - `wait-bounded-<s>`: a gang that fits now only above its minimal level waits up to <s>
 *     seconds for a minimal domain, holding nothing, then spreads;
 *   - `wait-reserve-<s>`: as bounded, holding the minimal domain that frees soonest (by the running
 *     jobs' time limits); no domain due within the bound: it spreads at once;
 *   - `wait-reserve-<s>-cap-<c>`: as wait-reserve-<s>, no wait past <c> seconds after submit;
 *   - `wait-aging`: bounded, bound = 60 s + 10 s per GPU of the gang − 10 s per other pending job;
 *   - `wait-reserve-by-size`: reserve, bound = 25,600 s − 100 s per GPU of the gang (a negative
 *     agingPerGpuMs): a gang of 32 GPUs may wait 6.2 h, one of 128 GPUs 3.6 h, one of 256 GPUs or
 *     more not at all (it spreads at once). The NVL72 trade-off's finding (docs/simulate.md): the
 *     tail of the queueing delay is the large gangs waiting for a whole leaf, and they are few;
 *     the locality share is the many small gangs, which find a rack soon if they hold out;
 *   - `wait-reserve-by-size-cap-4h`: the same, no wait past 4 h after submit (a live config keeps
 *     a cap: the wait's start is in memory only). The live default since the trade-off: `gantry`.
 */
import { InvalidArgumentError } from '../../shared/errors/index.js';
import type { TopologySpec } from '../../shared/jobspec/index.js';
import { LOCALITY_WAIT_DEFAULTS, LOCALITY_WAIT_OFF, type LocalityWaitPolicy } from '../jobs/locality-wait.js';
import { place } from '../placement/index.js';
import { ClusterSnapshot, type TopologyTree } from '../topology/index.js';

export interface Policy {
  name: string;
  description: string;
  /** 'planner': the scheduler's cycle (queue order, planCycle, placement engine); 'first-fit': the simulator's baseline. */
  cycle: 'planner' | 'first-fit';
  /** The spec's topology block for a gang of this shape on this tree. */
  topology(tree: TopologyTree, gang: { ranks: number; gpusPerRank: number }): TopologySpec;
  /** The live planner's locality wait (placement.localityWait); absent: off. */
  localityWait?: LocalityWaitPolicy;
}

/** The finest configured level above the node, if the tree has one. */
function finestLevel(tree: TopologyTree): string | undefined {
  return tree.top > 1 ? tree.levels[1] : undefined;
}

const minimalCache = new WeakMap<TopologyTree, Map<string, string | undefined>>();

/** The name of the gang's minimal level (finest level one domain of which holds it, packed, on the empty cluster), if above the node. */
function minimalLevelName(tree: TopologyTree, gang: { ranks: number; gpusPerRank: number }): string | undefined {
  let m = minimalCache.get(tree);
  if (!m) minimalCache.set(tree, (m = new Map()));
  const key = `${gang.ranks}x${gang.gpusPerRank}`;
  if (m.has(key)) return m.get(key);
  const r = gang.gpusPerRank <= tree.maxGpusPerNode ? place(ClusterSnapshot.create(tree), { ranks: gang.ranks, gpusPerRank: gang.gpusPerRank, mode: 'pack' }, { explain: false }) : null;
  const level = r?.fits ? tree.levelIndex(r.placement.level) : -1;
  const name = level >= 1 && level < tree.top ? tree.levels[level] : undefined;
  m.set(key, name);
  return name;
}

const preferFinest = (tree: TopologyTree): TopologySpec => {
  const l = finestLevel(tree);
  return l ? { preferred: l } : {};
};

/** `gantry` with the live planner's locality wait (times in seconds). */
function waitVariant(name: string, description: string, v: Partial<LocalityWaitPolicy>): [string, Policy] {
  return [name, { name, description, cycle: 'planner', topology: preferFinest, localityWait: { ...LOCALITY_WAIT_OFF, capMs: Number.MAX_SAFE_INTEGER, ...v } }];
}

/** wait-reserve-by-size's locality wait: large gangs spread sooner (a negative per-GPU aging). */
const BY_SIZE: Partial<LocalityWaitPolicy> = { mode: 'reserve', maxWaitMs: 25_600_000, agingPerGpuMs: -100_000 };

const VARIANT = /^wait-(bounded|reserve)-(\d{1,7})(?:-cap-(\d{1,7}))?$/;

/** The NVL72 variants registered (see the file's head). */
export const WAIT_VARIANTS: readonly string[] = [
  'wait-bounded-600',
  'wait-bounded-1800',
  'wait-reserve-1800',
  'wait-reserve-3600',
  'wait-reserve-3600-cap-1800',
  'wait-reserve-7200-cap-3600',
  'wait-aging',
  'wait-reserve-by-size',
  'wait-reserve-by-size-cap-4h',
];

/** The registered variants whose parameters a name cannot say (see the file's head). */
const NAMED_WAITS: ReadonlyArray<[string, Policy]> = [
  waitVariant('wait-aging', 'gantry; bounded, bound = 60 s + 10 s per GPU − 10 s per other pending job', { mode: 'bounded', maxWaitMs: 60_000, agingPerGpuMs: 10_000, agingPerQueuedJobMs: 10_000 }),
  waitVariant('wait-reserve-by-size', 'gantry; reserve, bound = 25,600 s − 100 s per GPU (256 GPUs and up: none)', BY_SIZE),
  waitVariant('wait-reserve-by-size-cap-4h', 'gantry; reserve, bound = 25,600 s − 100 s per GPU (256 GPUs and up: none); no wait past 4 h after submit', { ...BY_SIZE, capMs: 4 * 3_600_000 }),
];

export const POLICIES: ReadonlyMap<string, Policy> = new Map<string, Policy>([
  [
    'gantry',
    {
      name: 'gantry',
      description: "the live scheduler's default cycle; each gang prefers its finest level (packed, climbing when it must), with the default locality wait (the same as wait-reserve-by-size-cap-4h)",
      cycle: 'planner',
      topology: preferFinest,
      localityWait: LOCALITY_WAIT_DEFAULTS,
    },
  ],
  [
    'gantry-no-wait',
    {
      name: 'gantry-no-wait',
      description: 'gantry with placement.localityWait.mode off (the default before issue 22 decided it): each gang starts at once at the lowest level that fits',
      cycle: 'planner',
      topology: preferFinest,
    },
  ],
  ['topology-blind', { name: 'topology-blind', description: 'the same cycle; specs name no level (filled least-free first)', cycle: 'planner', topology: () => ({}) }],
  ['first-fit', { name: 'first-fit', description: "baseline (not the live scheduler's): arrival order, first nodes in tree order with room, no reservation", cycle: 'first-fit', topology: () => ({}) }],
  [
    'required-minimal',
    {
      name: 'required-minimal',
      description: 'the same cycle; each gang requires its minimal level (waits for such a domain, however long)',
      cycle: 'planner',
      topology: (tree, gang) => {
        const l = minimalLevelName(tree, gang);
        return l ? { required: l } : preferFinest(tree);
      },
    },
  ],
  ...WAIT_VARIANTS.filter((n) => !NAMED_WAITS.some(([m]) => m === n)).map((n) => [n, waitVariantNamed(n)!] as [string, Policy]),
  ...NAMED_WAITS,
]);

export const DEFAULT_POLICIES: readonly string[] = ['gantry', 'topology-blind', 'first-fit'];

/** A `wait-bounded-<s>`, `wait-reserve-<s>` or `wait-<mode>-<s>-cap-<c>` name as a policy (any whole seconds), or undefined. */
export function waitVariantNamed(name: string): Policy | undefined {
  const m = VARIANT.exec(name);
  if (!m) return undefined;
  const mode = m[1] as 'bounded' | 'reserve';
  const s = Number(m[2]);
  const cap = m[3] !== undefined ? Number(m[3]) : undefined;
  const what = mode === 'bounded' ? 'holding nothing' : 'holding the minimal domain that frees soonest';
  return waitVariant(name, `gantry; waits up to ${s} s for its minimal domain, ${what}${cap !== undefined ? `; no wait past ${cap} s after submit` : ''}`, { mode, maxWaitMs: s * 1000, ...(cap !== undefined ? { capMs: cap * 1000 } : {}) })[1];
}

/** The named policies (registered, or any wait-<mode>-<s>[-cap-<c>]), or an error naming the unknown one. */
export function policiesNamed(names: readonly string[]): Policy[] {
  return names.map((n) => {
    const p = POLICIES.get(n) ?? waitVariantNamed(n);
    if (!p) throw new InvalidArgumentError('--policy', `unknown policy ${JSON.stringify(n)}; known: ${[...POLICIES.keys()].join(', ')} (and any wait-bounded-<s>, wait-reserve-<s>, wait-<mode>-<s>-cap-<s>)`);
    return p;
  });
}
