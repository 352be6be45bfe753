/** The pure parsers of cgroup usage files and the cpuset list format (agent/runner/cgroup/parse-usage.ts). */
import t from 'tap';
import { flatKeyedValue, formatCpuList, singleValue } from '../../../../agent/runner/cgroup/index.js';

t.test('flat-keyed files', async (t) => {
  const cpuStat = 'usage_usec 85459\nuser_usec 60000\nsystem_usec 25459\nnr_periods 0\n';
  t.equal(flatKeyedValue(cpuStat, 'usage_usec'), 85459);
  t.equal(flatKeyedValue(cpuStat, 'usage'), null, 'a prefix is not the key');
  t.equal(flatKeyedValue('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n', 'oom_kill'), 2, 'v1 memory.oom_control');
  t.equal(flatKeyedValue('low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n', 'oom_kill'), 1, 'v2 memory.events');
  t.equal(flatKeyedValue('oom_kill x\n', 'oom_kill'), null, 'not a number');
  t.equal(flatKeyedValue(null, 'oom_kill'), null, 'no file');
});

t.test('single-value files', async (t) => {
  t.equal(singleValue('67108864\n'), 67108864);
  t.equal(singleValue('max\n'), null);
  t.equal(singleValue(''), null);
  t.equal(singleValue(null), null);
});

t.test('cpuset lists', async (t) => {
  t.equal(formatCpuList([1]), '1');
  t.equal(formatCpuList([3, 0, 1, 2, 8, 10, 9]), '0-3,8-10');
  t.equal(formatCpuList([5, 5, 7]), '5,7', 'duplicates once');
  t.equal(formatCpuList([]), '');
});
