/** The prolog/epilog and GPU-clean metrics (docs/operations.md, "Agent metrics"). */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { HookName, HookRun } from './outcome.js';

export type GpuCleanResult = 'clean' | 'unclean' | 'error';

export interface HookMetrics {
  hookRun(r: HookRun): void;
  gpuCleanCheck(result: GpuCleanResult): void;
}

export function createHookMetrics(registry: Registry): HookMetrics {
  const runs = new Counter({
    name: 'gantry_agent_hook_runs_total',
    help: 'Prolog and epilog runs, by hook (prolog, epilog) and result (passed, failed, timeout, unstartable).',
    labelNames: ['hook', 'result'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'gantry_agent_hook_duration_seconds',
    help: 'How long each prolog and epilog ran (a timed-out one: until it was killed).',
    labelNames: ['hook'],
    buckets: [0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  const checks = new Counter({
    name: 'gantry_agent_gpu_clean_checks_total',
    help: "GPU-clean checks after a job's last rank on this node, by result (clean, unclean, error: nvidia-smi could not be read).",
    labelNames: ['result'],
    registers: [registry],
  });
  for (const hook of ['prolog', 'epilog'] satisfies HookName[]) for (const result of ['passed', 'failed', 'timeout']) runs.inc({ hook, result }, 0);
  for (const result of ['clean', 'unclean', 'error'] satisfies GpuCleanResult[]) checks.inc({ result }, 0);
  return {
    hookRun(r) {
      runs.inc({ hook: r.hook, result: r.result });
      duration.observe({ hook: r.hook }, r.durationMs / 1000);
    },
    gpuCleanCheck(result) {
      checks.inc({ result });
    },
  };
}
