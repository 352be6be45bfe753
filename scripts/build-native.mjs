#!/usr/bin/env node
// Builds the native helpers with the system C compiler ($CC, else cc):
// - the rank supervisor (agent/runner/native/gantry-supervisor.c) into dist/agent/runner/gantry-supervisor;
// - the sd_notify sender (shared/sdnotify/native/gantry-notify.c) into dist/shared/sdnotify/gantry-notify;
// - the cgroup v2 device program loader (agent/runner/native/gantry-devices.c) into
//   dist/agent/runner/gantry-devices.
// Without a compiler it says so and leaves the binaries out: the agent then runs ranks under the
// Node supervisor (dist/agent/runner/supervisor.js), and both daemons notify systemd through
// `systemd-notify --pid=` (shared/sdnotify). A compiler that fails on a source fails the build.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'agent', 'runner', 'native', 'gantry-supervisor.c');
const out = path.join(root, 'dist', 'agent', 'runner', 'gantry-supervisor');
const notifySrc = path.join(root, 'shared', 'sdnotify', 'native', 'gantry-notify.c');
const notifyOut = path.join(root, 'dist', 'shared', 'sdnotify', 'gantry-notify');
const devicesSrc = path.join(root, 'agent', 'runner', 'native', 'gantry-devices.c');
const devicesOut = path.join(root, 'dist', 'agent', 'runner', 'gantry-devices');
const cc = process.env.CC || 'cc';

if (process.platform !== 'linux') {
  console.log(`build-native: ${process.platform} is not Linux; ranks will run under the Node supervisor`);
  process.exit(0);
}
const probe = spawnSync(cc, ['--version'], { stdio: 'ignore' });
if (probe.error || probe.status !== 0) {
  rmSync(out, { force: true });
  rmSync(notifyOut, { force: true });
  rmSync(devicesOut, { force: true });
  console.log(`build-native: no C compiler (${cc}); ranks will run under the Node supervisor, systemd is notified through systemd-notify, and ranks' devices are not limited on cgroup v2 (scripts/setup.sh installs gcc)`);
  process.exit(0);
}
mkdirSync(path.dirname(out), { recursive: true });
const flags = ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror'];
// Linked statically where the C library allows (Debian's libc6-dev ships libc.a; the supervisor
// uses no NSS): the launcher forks a supervisor per rank, and a static binary's fork copies fewer
// mappings and its child resolves no symbols lazily. 512 starts through one launcher cost 0.80–0.88
// ms of the machine's CPU each against 1.13–1.21 dynamically linked (0.90–1.00 with -z now).
// Without a static C library: dynamic, symbols bound at load (-z now) for the same reason.
// The supervisor links the device program loader in (without its main): it attaches a rank's
// device program itself before the rank starts, with no helper process.
const supervisorSrcs = [src, devicesSrc];
const compile = (extra, stdio) => spawnSync(cc, [...flags, '-DGANTRY_DEVICES_NO_MAIN', ...extra, '-o', out, ...supervisorSrcs], { stdio });
const statically = compile(['-static'], ['ignore', 'ignore', 'pipe']);
if (statically.error || statically.status !== 0) {
  console.log(`build-native: no static C library (${(statically.stderr?.toString() ?? '').trim().split('\n').at(-1) ?? ''}); linking dynamically`);
  execFileSync(cc, [...flags, '-DGANTRY_DEVICES_NO_MAIN', '-Wl,-z,now', '-o', out, ...supervisorSrcs], { stdio: 'inherit' });
}

// The notify sender: one long-lived process per daemon, so linked dynamically (no fork-per-use cost to save).
mkdirSync(path.dirname(notifyOut), { recursive: true });
execFileSync(cc, [...flags, '-o', notifyOut, notifySrc], { stdio: 'inherit' });

// The device program loader: run once per rank start, static where the C library allows (as the
// supervisor; it uses no NSS), else dynamic.
const devicesStatic = spawnSync(cc, [...flags, '-static', '-o', devicesOut, devicesSrc], { stdio: ['ignore', 'ignore', 'pipe'] });
if (devicesStatic.error || devicesStatic.status !== 0) {
  execFileSync(cc, [...flags, '-o', devicesOut, devicesSrc], { stdio: 'inherit' });
}
