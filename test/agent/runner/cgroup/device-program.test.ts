/**
 * The device program on the real kernel (as root): a v2 cgroup under /sys/fs/cgroup/unified gets the
 * BPF program from dist/agent/runner/gantry-devices, a real child moves itself in and opens device
 * files; a v1 devices cgroup gets devices.deny/devices.allow. Every cgroup and process made here is
 * removed in teardown, also on failure.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { FailedPreconditionError, InvalidArgumentError } from '../../../../shared/errors/index.js';
import { BASELINE_RULES, formatDeviceRule } from '../../../../agent/runner/cgroup/devices.js';
import { attachDeviceProgram, createDeviceApplier, writeV1DeviceRules } from '../../../../agent/runner/cgroup/device-program.js';
import type { DeviceRule } from '../../../../agent/runner/cgroup/types.js';
import { DEVICE_HELPER, PROBE, V1_DEVICES_ROOT, V2_ROOT, cgroupDir, opensIn, skipV1, skipV2 } from './device-helpers.js';

const HELPER = DEVICE_HELPER;
const V2 = V2_ROOT;
const V1 = V1_DEVICES_ROOT;

/** The baseline without /dev/zero (c 1:5): the shell and node still start, /dev/zero is denied. */
const NO_ZERO: DeviceRule[] = BASELINE_RULES.filter((r) => !(r.major === 1 && r.minor === 5));

const OPENS: Array<[string, string]> = [['/dev/null', 'r+'], ['/dev/zero', 'r'], ['/dev/zero', 'r+']];
/** What a process in `dir` could open: /dev/null read-write, /dev/zero read, /dev/zero read-write. */
async function probeIn(t: Test, dir: string): Promise<Record<string, string>> {
  const [nul, zeroRead, zeroWrite] = await opensIn(t, dir, OPENS);
  return { null: nul!, zeroRead: zeroRead!, zeroWrite: zeroWrite! };
}

t.test('v2: the program allows /dev/null and denies /dev/zero to a process in the cgroup', { skip: skipV2 }, async (t) => {
  const dir = cgroupDir(t, V2);
  await attachDeviceProgram(dir, NO_ZERO, { helperPath: HELPER });
  t.same(await probeIn(t, dir), { null: 'ok', zeroRead: 'EPERM', zeroWrite: 'EPERM' });
  const outside = spawnSync(process.execPath, ['-e', PROBE, JSON.stringify(OPENS)], { encoding: 'utf8' });
  t.same(JSON.parse(outside.stdout), ['ok', 'ok', 'ok'], 'a process outside the cgroup is not limited');

  // Attaching again replaces the rules (not stacked: a stacked program would still deny /dev/zero),
  // and the access is checked as a subset: read allowed, read-write not.
  await attachDeviceProgram(dir, [...NO_ZERO, { type: 'c', major: 1, minor: 5, access: 'r' }], { helperPath: HELPER });
  t.same(await probeIn(t, dir), { null: 'ok', zeroRead: 'ok', zeroWrite: 'EPERM' }, 'a read-only rule');
  // A wildcard minor covers every minor of the major.
  await createDeviceApplier({ helperPath: HELPER })({ v2: dir, v1: null }, [...NO_ZERO, { type: 'c', major: 1, minor: null, access: 'rw' }]);
  t.same(await probeIn(t, dir), { null: 'ok', zeroRead: 'ok', zeroWrite: 'ok' }, 'c 1:* rw');
});

/** No C compiler here: the test of another's program (built from the same source) cannot run. */
const noCc = ((): string | false => {
  const r = spawnSync(process.env.CC ?? 'cc', ['--version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? 'no C compiler' : false;
})();

t.test("v2: a re-attach replaces only the helper's own programs, not another's", { skip: skipV2 || noCc }, async (t) => {
  // "Another's" program: the same source built under another name (as systemd's DevicePolicy would be).
  const other = path.join(t.testdir({}), 'other-devices');
  const cc = spawnSync(process.env.CC ?? 'cc', ['-O2', '-DPROG_NAME="other_devices"', '-o', other, path.resolve(import.meta.dirname, '../../../../agent/runner/native/gantry-devices.c')], { encoding: 'utf8' });
  t.equal(cc.status, 0, `built: ${cc.stderr}`);
  const dir = cgroupDir(t, V2);
  t.equal(spawnSync(other, ['attach', dir, ...NO_ZERO.map(formatDeviceRule)]).status, 0, "another's program, denying /dev/zero");
  await attachDeviceProgram(dir, [...NO_ZERO, { type: 'c', major: 1, minor: 5, access: 'rw' }], { helperPath: HELPER });
  t.same(await probeIn(t, dir), { null: 'ok', zeroRead: 'EPERM', zeroWrite: 'EPERM' }, "the other program still denies /dev/zero: it was not detached");
});

t.test('v2: bad rules are exit 2 naming the rule; a kernel refusal is exit 1 with the errno text', { skip: skipV2 }, async (t) => {
  const dir = cgroupDir(t, V2);
  for (const bad of ['c:1:x:rw', 'x:1:3:rw', 'c:1:3:rq', 'c:1:3', 'c:1:3:rw:z', 'c:99999999999:3:r', 'c:1:3:']) {
    const r = spawnSync(HELPER, ['attach', dir, 'c:1:3:rwm', bad], { encoding: 'utf8' });
    t.equal(r.status, 2, `${bad}: exit 2`);
    t.match(r.stderr, `bad rule 2 "${bad}"`, `${bad}: the message names the rule`);
  }
  t.equal(spawnSync(HELPER, ['detach', dir], { encoding: 'utf8' }).status, 2, 'unknown command');
  t.equal(spawnSync(HELPER, ['attach', 'relative/dir', 'c:1:3:r'], { encoding: 'utf8' }).status, 2, 'relative dir');
  const missing = spawnSync(HELPER, ['attach', path.join(dir, 'no-such-child'), 'c:1:3:r'], { encoding: 'utf8' });
  t.equal(missing.status, 1, 'a missing cgroup: exit 1');
  t.match(missing.stderr, /No such file or directory/);
  // Without CAP_BPF/CAP_SYS_ADMIN the kernel refuses the load itself.
  const unprivileged = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', HELPER, 'attach', dir, 'c:1:3:rwm'], { encoding: 'utf8' });
  if (unprivileged.error === undefined) {
    t.equal(unprivileged.status, 1, 'an unprivileged load: exit 1');
    t.match(unprivileged.stderr, /BPF_PROG_LOAD \(\d+ instructions\): Operation not permitted/);
  }
  const notCgroup = spawnSync(HELPER, ['attach', '/tmp', 'c:1:3:r'], { encoding: 'utf8' });
  t.equal(notCgroup.status, 1, 'not a cgroup: the kernel refuses the attach');
  t.match(notCgroup.stderr, /BPF_PROG_ATTACH/);

  await t.rejects(attachDeviceProgram(dir, [{ type: 'c', major: 1, minor: 3, access: 'rx' }], { helperPath: HELPER }), InvalidArgumentError, 'checked before the helper');
  await t.rejects(attachDeviceProgram('/tmp', NO_ZERO, { helperPath: HELPER }), { constructor: FailedPreconditionError, message: /BPF_PROG_ATTACH/ }, "the helper's stderr in the error");
  await t.rejects(attachDeviceProgram(dir, NO_ZERO, { helperPath: '/nonexistent/gantry-devices' }), { constructor: FailedPreconditionError, message: /cannot run \(ENOENT\)/ });
  await t.rejects(createDeviceApplier({ helperPath: HELPER })({ v2: null, v1: null }, NO_ZERO), FailedPreconditionError, 'neither a v2 nor a v1 dir');
});

t.test('the helper is killed at its timeout', { skip: skipV2 }, async (t) => {
  // A stand-in helper that hangs: the wrapper must not wait for it.
  const hang = path.join(t.testdir({}), 'hang');
  writeFileSync(hang, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
  const started = Date.now();
  await t.rejects(attachDeviceProgram('/x', NO_ZERO, { helperPath: hang, timeoutMs: 200 }), { constructor: FailedPreconditionError, message: /ran past 200 ms and was killed/ });
  t.ok(Date.now() - started < 3000);
});

t.test('v1: devices.deny a, then one devices.allow per rule', { skip: skipV1 }, async (t) => {
  const dir = cgroupDir(t, V1);
  await writeV1DeviceRules(dir, NO_ZERO);
  const list = readFileSync(path.join(dir, 'devices.list'), 'utf8').trim().split('\n').sort();
  t.same(list, ['c 1:3 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 136:* rwm', 'c 5:0 rwm', 'c 5:2 rwm'].sort());
  t.same(await probeIn(t, dir), { null: 'ok', zeroRead: 'EPERM', zeroWrite: 'EPERM' });
  await t.rejects(writeV1DeviceRules(path.join(dir, 'gone'), NO_ZERO), FailedPreconditionError);
});
