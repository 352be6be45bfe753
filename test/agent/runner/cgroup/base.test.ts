/** Where rank cgroups live (agent/runner/cgroup/base.ts), pure, over the three hosts' layouts. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../../shared/procs/index.js';
import { detectLayout, parseTaskCgroupName, planBase, taskCgroupName, validateCgroupRoot } from '../../../../agent/runner/cgroup/index.js';

const DIR = join(packageRoot(), 'fixtures', 'cgroup');
const read = (p: string): string => readFileSync(join(DIR, p), 'utf8');
const hybrid = detectLayout({ mountinfo: read('ci-hybrid/mountinfo'), procCgroup: read('ci-hybrid/cgroup'), v2Controllers: read('ci-hybrid/unified.cgroup.controllers'), devicesApplier: true });
const v2 = detectLayout({ mountinfo: read('derived/v2-systemd/mountinfo'), procCgroup: read('derived/v2-systemd/cgroup'), v2Controllers: read('derived/v2-systemd/cgroup.controllers'), devicesApplier: true });
const v1 = detectLayout({ mountinfo: read('derived/v1-only/mountinfo'), procCgroup: read('derived/v1-only/cgroup'), v2Controllers: null, devicesApplier: true });

t.test('hybrid CI machine: v2 for kill and usage at /gantry (the agent is at the root), v1 memory under the own memory cgroup', async (t) => {
  const plan = planBase(hybrid.layout, hybrid.own);
  t.same(plan, {
    hierarchies: [
      { version: 'v2', mountPoint: '/sys/fs/cgroup/unified', controllers: [], base: '/gantry' },
      { version: 'v1', mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory'], base: '/process_api/b116da01b17683e42060f156e1136fa5' },
      { version: 'v1', mountPoint: '/sys/fs/cgroup/pids', controllers: ['pids'], base: '/gantry' },
      { version: 'v1', mountPoint: '/sys/fs/cgroup/cpuset', controllers: ['cpuset'], base: '/gantry' },
    ],
    agentLeaf: null,
    enable: [],
    enableIn: [],
  });
  const rooted = planBase(hybrid.layout, hybrid.own, '/gantry-test/x/');
  t.same(rooted.hierarchies.map((h) => h.base), ['/gantry-test/x', '/gantry-test/x', '/gantry-test/x', '/gantry-test/x'], 'cgroupRoot (normalised) in every hierarchy');
});

t.test('pure v2 systemd host: the agent moves into <own>/agent and enables the controllers in <own>', async (t) => {
  const plan = planBase(v2.layout, v2.own);
  const own = '/system.slice/gantry-agent.service';
  t.same(plan, {
    hierarchies: [{ version: 'v2', mountPoint: '/sys/fs/cgroup', controllers: ['memory', 'pids', 'cpuset'], base: own }],
    agentLeaf: `${own}/agent`,
    enable: ['memory', 'pids', 'cpuset'],
    enableIn: [own],
  });
  const rooted = planBase(v2.layout, v2.own, '/gantry.slice/agent-x');
  t.equal(rooted.agentLeaf, null, 'the agent is not in a cgroupRoot elsewhere: it stays');
  t.same(rooted.enableIn, ['/', '/gantry.slice', '/gantry.slice/agent-x'], 'enabled down the whole path');
  const above = planBase(v2.layout, { v2: '/gantry.slice', v1: {} }, '/gantry.slice/agent-x');
  t.equal(above.agentLeaf, '/gantry.slice/agent', 'an agent in an ancestor that must enable controllers moves into a leaf');
  const atRoot = planBase(v2.layout, { v2: '/', v1: {} });
  t.same([atRoot.hierarchies[0]?.base, atRoot.agentLeaf, atRoot.enableIn], ['/gantry', null, ['/', '/gantry']], 'at the root: /gantry, the root holds processes lawfully');
  const again = planBase(v2.layout, { v2: `${own}/agent`, v1: {} });
  t.same([again.hierarchies[0]?.base, again.agentLeaf, again.enableIn], [own, `${own}/agent`, [own]], 'an agent started inside <own>/agent is home: same base, same leaf');
  const noControllers = planBase({ ...v2.layout, enforced: { ...v2.layout.enforced, memory: null, pids: null, cpuset: null } }, v2.own);
  t.same([noControllers.agentLeaf, noControllers.enable, noControllers.enableIn], [null, [], []], 'nothing to enable: the agent stays');
});

t.test('v1-only host: one plan per mount, combined cpu,cpuacct once, devices on v1', async (t) => {
  const plan = planBase(v1.layout, v1.own);
  const own = '/system.slice/gantry-agent.service';
  t.same(plan.hierarchies, [
    { version: 'v1', mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory'], base: own },
    { version: 'v1', mountPoint: '/sys/fs/cgroup/pids', controllers: ['pids'], base: own },
    { version: 'v1', mountPoint: '/sys/fs/cgroup/cpuset', controllers: ['cpuset'], base: '/gantry' },
    { version: 'v1', mountPoint: '/sys/fs/cgroup/cpu,cpuacct', controllers: ['cpuacct'], base: own },
    { version: 'v1', mountPoint: '/sys/fs/cgroup/devices', controllers: ['devices'], base: own },
  ]);
  t.same([plan.agentLeaf, plan.enable], [null, []]);
});

t.test('cgroupRoot: bad values are refused naming the key', async (t) => {
  for (const bad of ['relative/x', '/', '//', '/a/../b', '/a/./b', '']) {
    t.throws(() => validateCgroupRoot(bad), { code: 'CONFIG_INVALID', message: /runner\.cgroupRoot/ }, JSON.stringify(bad));
  }
  t.equal(validateCgroupRoot('//a//b/'), '/a/b');
  t.throws(() => planBase(v2.layout, v2.own, '/'), { code: 'CONFIG_INVALID' });
});

t.test('task cgroup names round-trip, split from the right', async (t) => {
  for (const key of [
    { jobId: 'job-1', rank: 0, epoch: 0 },
    { jobId: 'a.b.3', rank: 12, epoch: 7 },
    { jobId: 'x_Y.z', rank: 3, epoch: 1 },
  ]) {
    t.same(parseTaskCgroupName(taskCgroupName(key)), key, taskCgroupName(key));
  }
  for (const name of ['agent', 'supervisor', 'job.1', 'job.01.2', 'job.1.x', '..1.2', 'a b.1.2']) t.equal(parseTaskCgroupName(name), null, name);
  t.throws(() => taskCgroupName({ jobId: 'a/b', rank: 0, epoch: 0 }), { code: 'INVALID_ARGUMENT', message: /jobId/ });
  t.throws(() => taskCgroupName({ jobId: 'a', rank: -1, epoch: 0 }), { code: 'INVALID_ARGUMENT', message: /rank/ });
  t.throws(() => taskCgroupName({ jobId: 'a', rank: 0, epoch: 1.5 }), { code: 'INVALID_ARGUMENT', message: /epoch/ });
});
