/** Fewer GPUs than the node should have (one fell off the bus and the driver no longer lists it). */
import type { Finding, Rule } from '../types.js';

export const GPU_COUNT_CHECK = 'gpu-count';

/** `config.expectedGpus` must be set (the evaluator fills it from the most GPUs seen when it is 0). */
export const gpuCountRule: Rule = (input, config) => {
  const probe = input.probe;
  if (!probe || config.expectedGpus <= 0) return [];
  const have = probe.gpus.length;
  if (have >= config.expectedGpus) return [];
  const f: Finding = {
    check: GPU_COUNT_CHECK,
    severity: 'fail',
    scope: 'node',
    evidence: `${have} of ${config.expectedGpus} expected GPUs visible${probe.attachedGpus > have ? ` (driver says ${probe.attachedGpus} attached)` : ''}`,
  };
  return [f];
};
