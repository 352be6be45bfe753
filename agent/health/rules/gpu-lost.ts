/** A GPU fallen off the bus, or reading "Unknown Error": in the probe's values, or in the probe's failure. */
import { pciBusDevice } from '../../core/index.js';
import type { Finding, Rule } from '../types.js';

export const GPU_LOST_CHECK = 'gpu-lost';

const LOST_TEXT = /GPU is lost|fallen off the bus|Unable to determine the device handle/i;

export const gpuLostRule: Rule = (input) => {
  const out: Finding[] = [];
  for (const s of input.probe?.samples ?? []) {
    if (s.lost || s.unknownError) {
      out.push({
        check: GPU_LOST_CHECK,
        severity: 'fail',
        gpu: s.index,
        scope: 'node',
        evidence: `${s.lost ? 'GPU is lost' : 'Unknown Error'}: ${s.errorFields.slice(0, 3).join('; ')}`,
      });
    }
  }
  const err = input.probeError;
  if (err instanceof Error && LOST_TEXT.test(err.message)) {
    const bus = /GPU\s*([0-9a-fA-F]+:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])/.exec(err.message)?.[1];
    const gpu = bus ? (input.knownGpus ?? []).find((g) => g.pciBusId !== '' && pciBusDevice(g.pciBusId) === pciBusDevice(bus))?.index : undefined;
    out.push({
      check: GPU_LOST_CHECK,
      severity: 'fail',
      ...(gpu !== undefined ? { gpu } : {}),
      scope: 'node',
      key: 'probe',
      evidence: err.message.slice(0, 300),
    });
  }
  return out;
};
