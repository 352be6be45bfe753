/**
 * Checking a rank's limits, pure by construction (not a registered pure core only because RankLimits
 * lives in types.ts, which names records.ts's types).
 */
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import type { RankLimits } from './types.js';

/** Checks a rank's limits before anything is written; names the field that is wrong. */
export function validateRankLimits(limits: RankLimits): RankLimits {
  const positive = (v: unknown, field: string): void => {
    if (v !== null && (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0)) {
      throw new InvalidArgumentError(field, `must be a positive integer or null, got ${JSON.stringify(v)}`);
    }
  };
  const ids = (v: unknown, field: string): void => {
    if (v === null) return;
    if (!Array.isArray(v) || v.length === 0 || !v.every((n) => Number.isSafeInteger(n) && n >= 0)) {
      throw new InvalidArgumentError(field, `must be a non-empty list of non-negative integers or null, got ${JSON.stringify(v)}`);
    }
  };
  if (typeof limits !== 'object' || limits === null) throw new InvalidArgumentError('limits', 'must be an object');
  positive(limits.memoryBytes, 'limits.memoryBytes');
  positive(limits.maxProcesses, 'limits.maxProcesses');
  ids(limits.cpus, 'limits.cpus');
  ids(limits.mems, 'limits.mems');
  if (limits.devices !== null) {
    if (!Array.isArray(limits.devices)) throw new InvalidArgumentError('limits.devices', 'must be a list of rules or null');
    limits.devices.forEach((r, i) => {
      const ok =
        (r.type === 'c' || r.type === 'b') &&
        Number.isSafeInteger(r.major) &&
        r.major >= 0 &&
        (r.minor === null || (Number.isSafeInteger(r.minor) && r.minor >= 0)) &&
        typeof r.access === 'string' &&
        /^[rwm]{1,3}$/.test(r.access);
      if (!ok) throw new InvalidArgumentError(`limits.devices[${i}]`, `must be {type: c|b, major, minor (null: all), access: subset of rwm}, got ${JSON.stringify(r)}`);
    });
  }
  return limits;
}
