/**
 * The NVL72 job mix of the placement benchmark's scenario (c) (bench/placement.ts) as a trace in
 * `gantry simulate`'s own CSV format, with arrivals: a seeded PRNG (mulberry32, bench/prng.ts), so
 * the same seed gives the same bytes.
 *
 * - By count, 1 in 16 jobs has 16, 32, 64 or 128 nodes (scenario (c)'s 16-node-slice gangs), 3 in
 *   16 have 4, 8, 16 or 32 nodes (its 4-node slices), 12 in 16 have 1, 2, 4 or 8 nodes; one rank
 *   per node of 4 GPUs (gpus_per_node 4). The trace format has no slices: each job is one gang
 *   (the simulator's gantry policy prefers the rack, `nvlink`, and packs).
 * - Durations log-uniform in [600, 12000] s (scenario (c)'s 10-200 units, a unit taken as 60 s).
 * - Arrivals Poisson: exponential gaps of mean 60 s. `gantry simulate --load X` then scales the
 *   gaps to the offered load wanted.
 */
import { Prng } from './prng.js';

export const NVL72_MIX = [
  { sizes: [16, 32, 64, 128], weight: 1 },
  { sizes: [4, 8, 16, 32], weight: 3 },
  { sizes: [1, 2, 4, 8], weight: 12 },
] as const;

/** `count` jobs of the mix as CSV (`submit_s,gpus,duration_s,gpus_per_node`), seeded. */
export function nvl72MixCsv(seed: number, count: number): string {
  const rng = new Prng(seed);
  const lines = ['submit_s,gpus,duration_s,gpus_per_node'];
  let t = 0;
  for (let i = 0; i < count; i++) {
    const m = rng.weighted(NVL72_MIX.map((x) => ({ weight: x.weight, value: x })));
    const nodes = rng.pick(m.sizes);
    const duration = Math.round(600 * Math.pow(20, rng.next()));
    lines.push(`${t},${nodes * 4},${duration},4`);
    t = Math.round((t - 60 * Math.log(1 - rng.next())) * 1000) / 1000;
  }
  return lines.join('\n') + '\n';
}

// `node dist/bench/nvl72-mix.js SEED COUNT > trace.csv`
if (process.argv[1] && /nvl72-mix\.[jt]s$/.test(process.argv[1])) {
  const seed = Number(process.argv[2] ?? 1);
  const count = Number(process.argv[3] ?? 3000);
  process.stdout.write(nvl72MixCsv(seed, count));
}
