/**
 * Layout detection (agent/runner/cgroup/layout.ts), table-driven over three hosts' texts:
 * this CI machine's real ones (hybrid), a pure-v2 systemd host and a v1-only host (derived, see
 * fixtures/SOURCES.md).
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../../shared/procs/index.js';
import { detectLayout, parseCgroupMounts, parseProcCgroup, pathBelowMount } from '../../../../agent/runner/cgroup/index.js';
import type { CgroupLayout, OwnCgroups } from '../../../../agent/runner/cgroup/index.js';

const DIR = join(packageRoot(), 'fixtures', 'cgroup');
const read = (p: string): string => readFileSync(join(DIR, p), 'utf8');

interface Case {
  name: string;
  mountinfo: string;
  cgroup: string;
  controllers: string | null;
  layout: CgroupLayout;
  own: OwnCgroups;
}

const cases: Case[] = [
  {
    name: 'CI machine (hybrid, captured)',
    mountinfo: 'ci-hybrid/mountinfo',
    cgroup: 'ci-hybrid/cgroup',
    controllers: 'ci-hybrid/unified.cgroup.controllers',
    layout: {
      kind: 'hybrid',
      v2Mount: '/sys/fs/cgroup/unified',
      v1Mounts: {
        cpu: '/sys/fs/cgroup/cpu',
        cpuacct: '/sys/fs/cgroup/cpuacct',
        cpuset: '/sys/fs/cgroup/cpuset',
        memory: '/sys/fs/cgroup/memory',
        devices: '/sys/fs/cgroup/devices',
        freezer: '/sys/fs/cgroup/freezer',
        blkio: '/sys/fs/cgroup/blkio',
        pids: '/sys/fs/cgroup/pids',
      },
      enforced: { kill: 'v2', devices: 'v2', memory: 'v1', pids: 'v1', cpuset: 'v1', cpuUsage: 'v2' },
    },
    own: {
      v2: '/',
      v1: { cpu: '/', cpuacct: '/', cpuset: '/', memory: '/process_api/b116da01b17683e42060f156e1136fa5', devices: '/', freezer: '/', blkio: '/', pids: '/' },
    },
  },
  {
    name: 'pure v2 systemd host (derived)',
    mountinfo: 'derived/v2-systemd/mountinfo',
    cgroup: 'derived/v2-systemd/cgroup',
    controllers: 'derived/v2-systemd/cgroup.controllers',
    layout: {
      kind: 'v2',
      v2Mount: '/sys/fs/cgroup',
      v1Mounts: {},
      enforced: { kill: 'v2', devices: 'v2', memory: 'v2', pids: 'v2', cpuset: 'v2', cpuUsage: 'v2' },
    },
    own: { v2: '/system.slice/gantry-agent.service', v1: {} },
  },
  {
    name: 'v1-only host (derived)',
    mountinfo: 'derived/v1-only/mountinfo',
    cgroup: 'derived/v1-only/cgroup',
    controllers: null,
    layout: {
      kind: 'v1',
      v2Mount: null,
      v1Mounts: {
        net_prio: '/sys/fs/cgroup/net_cls,net_prio',
        net_cls: '/sys/fs/cgroup/net_cls,net_prio',
        cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
        cpu: '/sys/fs/cgroup/cpu,cpuacct',
        memory: '/sys/fs/cgroup/memory',
        devices: '/sys/fs/cgroup/devices',
        cpuset: '/sys/fs/cgroup/cpuset',
        pids: '/sys/fs/cgroup/pids',
        freezer: '/sys/fs/cgroup/freezer',
        blkio: '/sys/fs/cgroup/blkio',
        hugetlb: '/sys/fs/cgroup/hugetlb',
        perf_event: '/sys/fs/cgroup/perf_event',
      },
      enforced: { kill: null, devices: 'v1', memory: 'v1', pids: 'v1', cpuset: 'v1', cpuUsage: 'v1' },
    },
    own: {
      v2: null,
      v1: {
        net_prio: '/',
        net_cls: '/',
        cpuacct: '/system.slice/gantry-agent.service',
        cpu: '/system.slice/gantry-agent.service',
        memory: '/system.slice/gantry-agent.service',
        devices: '/system.slice/gantry-agent.service',
        cpuset: '/',
        pids: '/system.slice/gantry-agent.service',
        freezer: '/',
        blkio: '/system.slice/gantry-agent.service',
        hugetlb: '/',
        perf_event: '/',
      },
    },
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const input = { mountinfo: read(c.mountinfo), procCgroup: read(c.cgroup), v2Controllers: c.controllers === null ? null : read(c.controllers) };
    const got = detectLayout({ ...input, devicesApplier: true });
    t.same(got.layout, c.layout, 'layout, with a device applier');
    t.same(got.own, c.own, 'own cgroups');
    const without = detectLayout({ ...input, devicesApplier: false });
    t.equal(without.layout.enforced.devices, null, 'devices are not enforced without an applier');
  });
}

t.test('a v2 root without memory/pids/cpuset controllers leaves them to v1; none anywhere: not enforced', async (t) => {
  const mountinfo = read('derived/v2-systemd/mountinfo');
  const got = detectLayout({ mountinfo, procCgroup: '0::/x\n', v2Controllers: 'cpu io\n', devicesApplier: false });
  t.same(got.layout.enforced, { kill: 'v2', devices: null, memory: null, pids: null, cpuset: null, cpuUsage: 'v2' });
  const none = detectLayout({ mountinfo: '22 27 0:21 / /proc rw,relatime - proc proc rw\n', procCgroup: '', v2Controllers: null, devicesApplier: true });
  t.equal(none.layout.kind, 'none');
  t.same(none.layout.enforced, { kill: null, devices: null, memory: null, pids: null, cpuset: null, cpuUsage: null });
});

t.test('a cgroup namespace or bind mount: own paths are below the mount root; escapes in mount points', async (t) => {
  const mountinfo = [
    '40 30 0:38 /kubepods/pod1 /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw',
    '41 30 0:39 /kubepods/pod1 /mnt/my\\040cgroups/memory rw,relatime - cgroup cgroup rw,memory',
  ].join('\n');
  const procCgroup = '0::/kubepods/pod1/ctr\n4:memory:/kubepods/pod1/ctr\n';
  const got = detectLayout({ mountinfo, procCgroup, v2Controllers: 'memory pids', devicesApplier: false });
  t.equal(got.own.v2, '/ctr');
  t.equal(got.own.v1['memory'], '/ctr');
  t.equal(got.layout.v1Mounts['memory'], '/mnt/my cgroups/memory', '\\040 is a space');
  t.equal(pathBelowMount('/a/b', '/a'), '/b');
  t.equal(pathBelowMount('/a', '/a'), '/');
  t.equal(pathBelowMount('/ab', '/a'), null, 'a sibling with the same prefix is not below');
});

t.test('v1 mount options that are not controllers are not taken for controllers', async (t) => {
  const m = parseCgroupMounts('25 24 0:21 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,noprefix,clone_children,cpuset,release_agent=/x\n');
  t.same(m, [{ version: 'v1', mountPoint: '/sys/fs/cgroup/cpuset', root: '/', controllers: ['cpuset'] }]);
});

t.test('bad input gets an error naming the file and line', async (t) => {
  t.throws(() => parseCgroupMounts('garbage line\n'), { code: 'PARSE_FAILED', message: /mountinfo.*line 1/ });
  t.throws(() => parseProcCgroup('0::/\nnot a line\n'), { code: 'PARSE_FAILED', message: /\/proc\/self\/cgroup.*line 2/ });
  t.throws(() => parseProcCgroup('0::relative\n'), { code: 'PARSE_FAILED', message: /not absolute/ });
});
