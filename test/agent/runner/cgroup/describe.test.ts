/** The start-up line and gauge values of what containment enforces (agent/runner/cgroup/describe.ts). */
import t from 'tap';
import { describeEnforcement, MEMORY_TWIN_LAYOUT } from '../../../../agent/runner/cgroup/index.js';

t.test('hybrid host without a device applier', async (t) => {
  const d = describeEnforcement({
    kind: 'hybrid',
    v2Mount: '/sys/fs/cgroup/unified',
    v1Mounts: { memory: '/sys/fs/cgroup/memory' },
    enforced: { kill: 'v2', devices: null, memory: 'v1', pids: 'v1', cpuset: 'v1', cpuUsage: 'v2' },
  });
  t.equal(d.line, 'cgroups hybrid; enforced: kill (v2), memory (v1), pids (v1), cpuset (v1), cpu usage (v2); not enforced: devices');
  t.same(d.gauges, [
    { feature: 'kill', via: 'v2', value: 1 },
    { feature: 'devices', via: 'none', value: 0 },
    { feature: 'memory', via: 'v1', value: 1 },
    { feature: 'pids', via: 'v1', value: 1 },
    { feature: 'cpuset', via: 'v1', value: 1 },
    { feature: 'cpuUsage', via: 'v2', value: 1 },
  ]);
});

t.test('nothing enforced, and everything', async (t) => {
  const none = describeEnforcement({ kind: 'none', v2Mount: null, v1Mounts: {}, enforced: { kill: null, devices: null, memory: null, pids: null, cpuset: null, cpuUsage: null } });
  t.equal(none.line, 'cgroups none; enforced: nothing; not enforced: kill, devices, memory, pids, cpuset, cpu usage');
  t.ok(none.gauges.every((g) => g.value === 0 && g.via === 'none'));
  const all = describeEnforcement({ ...MEMORY_TWIN_LAYOUT, enforced: { ...MEMORY_TWIN_LAYOUT.enforced, devices: 'v2' } });
  t.match(all.line, /not enforced: nothing$/);
});
