/**
 * One contract, three implementations: the device applier on cgroup v2 (BPF program), on cgroup v1
 * (devices.allow), and its in-memory twin must decide alike. The real ones are observed through a
 * real process in the cgroup opening /dev/null and /dev/zero; the twin answers from its rules, with
 * the devices' numbers from stat(2).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { FailedPreconditionError, InvalidArgumentError } from '../../../../shared/errors/index.js';
import { BASELINE_RULES, splitDeviceNumber } from '../../../../agent/runner/cgroup/devices.js';
import { createDeviceApplier, type DeviceApplier } from '../../../../agent/runner/cgroup/device-program.js';
import { MemoryDeviceApplier } from '../../../../agent/runner/cgroup/device-twin.js';
import type { DeviceRule } from '../../../../agent/runner/cgroup/types.js';
import { DEVICE_HELPER, V1_DEVICES_ROOT, V2_ROOT, cgroupDir, opensIn, skipV1, skipV2 } from './device-helpers.js';

interface Subject {
  dirs: (dir: string) => { v2: string | null; v1: string | null };
  dir: string;
  apply: DeviceApplier;
  /** 'ok' or the errno code of each open from inside the cgroup. */
  opens: (list: Array<[string, string]>) => Promise<string[]>;
}

const twin = (_t: Test): Subject => {
  const dir = '/twin/rank';
  const m = new MemoryDeviceApplier([dir]);
  return {
    dir,
    dirs: (d) => ({ v2: d, v1: null }),
    apply: m.apply,
    opens: async (list) =>
      list.map(([file, flags]) => {
        const s = statSync(file, { bigint: true });
        const access = flags === 'r' ? 'r' : flags === 'w' ? 'w' : 'rw';
        return m.allows(dir, { type: s.isBlockDevice() ? 'b' : 'c', ...splitDeviceNumber(s.rdev) }, access) ? 'ok' : 'EPERM';
      }),
  };
};
const real = (kind: 'v2' | 'v1') => (t: Test): Subject => {
  const dir = cgroupDir(t, kind === 'v2' ? V2_ROOT : V1_DEVICES_ROOT);
  return {
    dir,
    dirs: (d) => (kind === 'v2' ? { v2: d, v1: null } : { v2: null, v1: d }),
    apply: createDeviceApplier({ helperPath: DEVICE_HELPER }),
    opens: (list) => opensIn(t, dir, list),
  };
};

const impls: Array<[string, (t: Test) => Subject, string | false]> = [
  ['in-memory twin', twin, false],
  ['v2 BPF program', real('v2'), skipV2],
  ['v1 devices.allow', real('v1'), skipV1],
];

const NO_ZERO: DeviceRule[] = BASELINE_RULES.filter((r) => !(r.major === 1 && r.minor === 5));
const OPENS: Array<[string, string]> = [['/dev/null', 'r+'], ['/dev/zero', 'r'], ['/dev/zero', 'r+']];

for (const [name, make, skip] of impls) {
  t.test(`device applier contract: ${name}`, { skip }, async (t) => {
    const s = make(t);
    await s.apply(s.dirs(s.dir), [...NO_ZERO, { type: 'c', major: 1, minor: 5, access: 'r' }]);
    t.same(await s.opens(OPENS), ['ok', 'ok', 'EPERM'], '/dev/zero read only');
    await s.apply(s.dirs(s.dir), NO_ZERO);
    t.same(await s.opens(OPENS), ['ok', 'EPERM', 'EPERM'], 'applied again: the new rules replace the old');
    await t.rejects(s.apply(s.dirs(s.dir), [...NO_ZERO, { type: 'c', major: 1, minor: 5, access: 'rwx' }]), InvalidArgumentError, 'a bad rule');
    t.same(await s.opens(OPENS), ['ok', 'EPERM', 'EPERM'], 'a bad rule changes nothing');
    await s.apply(s.dirs(s.dir), [...BASELINE_RULES.filter((r) => r.major !== 1), { type: 'c', major: 1, minor: null, access: 'rw' }]);
    t.same(await s.opens(OPENS), ['ok', 'ok', 'ok'], 'c 1:* rw covers every minor');
    await t.rejects(s.apply({ v2: null, v1: null }, NO_ZERO), FailedPreconditionError, 'neither directory');
    await t.rejects(s.apply(s.dirs(path.join(s.dir, 'missing')), NO_ZERO), FailedPreconditionError, 'a cgroup that does not exist');
  });
}
