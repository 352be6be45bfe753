/**
 * In-memory twin of the device applier (device-program.ts), for tests and simulation: keeps the
 * rules applied to each cgroup and answers what a process there may open, as the kernel would
 * (devices.ts `rulesAllow`). Same outcomes as the real one: bad rules are an InvalidArgumentError
 * before anything changes; no directory, or one that does not exist, a FailedPreconditionError.
 */
import { FailedPreconditionError, InvalidArgumentError } from '../../../shared/errors/index.js';
import { deviceRuleError, rulesAllow } from './devices.js';
import type { DeviceApplier } from './device-program.js';
import type { DeviceRule } from './types.js';

export class MemoryDeviceApplier {
  /** The cgroup directories that exist (add to it as cgroups are made). */
  readonly dirs: Set<string>;
  /** The rules in force per directory (the last applied). */
  readonly applied = new Map<string, DeviceRule[]>();

  constructor(existing: Iterable<string> = []) {
    this.dirs = new Set(existing);
  }

  readonly apply: DeviceApplier = async (dirs, rules) => {
    rules.forEach((r, i) => {
      const bad = deviceRuleError(r);
      if (bad !== null) throw new InvalidArgumentError(`devices[${i}]`, bad);
    });
    const dir = dirs.v2 ?? dirs.v1;
    if (dir === null) throw new FailedPreconditionError('devices cannot be limited: the rank has neither a v2 cgroup nor a v1 devices cgroup');
    if (!this.dirs.has(dir)) throw new FailedPreconditionError(`device rules on ${dir} not applied: no such cgroup`);
    this.applied.set(dir, rules.map((r) => ({ ...r })));
  };

  /** Whether a process in `dir` may open `device` for `access`; a cgroup without rules is not limited. */
  allows(dir: string, device: { type: 'c' | 'b'; major: number; minor: number }, access: string): boolean {
    const rules = this.applied.get(dir);
    return rules === undefined || rulesAllow(rules, device, access);
  }
}
