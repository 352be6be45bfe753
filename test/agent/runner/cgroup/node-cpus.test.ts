/** readNodeCpus on this host's real sysfs, and on sysfs-shaped directories of the test's own. */
import os from 'node:os';
import t from 'tap';
import { InvalidArgumentError } from '../../../../shared/errors/index.js';
import { readNodeCpus } from '../../../../agent/runner/cgroup/node-cpus.js';
import { allocateCpus, cpuTopologyFromGpus, formatCpuList } from '../../../../agent/runner/cgroup/cpus.js';

t.test('this host: every CPU the OS counts is in exactly one NUMA node', async (t) => {
  const nodes = await readNodeCpus();
  t.ok(nodes.size >= 1);
  const all = [...nodes.values()].flat();
  t.equal(new Set(all).size, all.length, 'no CPU in two nodes');
  t.equal(all.length, os.cpus().length, `${all.length} CPUs, as os.cpus() says`);
});

t.test('a two-node sysfs, and one without node/', async (t) => {
  const two = t.testdir({ node: { node0: { cpulist: '0-3,8-11\n' }, node1: { cpulist: '4-7,12-15\n' }, possible: '0-1\n' }, cpu: { online: '0-15\n' } });
  const nodes = await readNodeCpus({ sysDir: two });
  t.same([...nodes.keys()], [0, 1]);
  t.equal(formatCpuList(nodes.get(1)!), '4-7,12-15');
  const flat = t.testdir({ cpu: { online: '0-5\n' } });
  t.same([...(await readNodeCpus({ sysDir: flat }))], [[0, [0, 1, 2, 3, 4, 5]]], 'one node 0 of the online CPUs');
  const bad = t.testdir({ node: { node0: { cpulist: 'zero\n' } } });
  await t.rejects(readNodeCpus({ sysDir: bad }), { constructor: InvalidArgumentError, message: /node0\/cpulist: "zero" is not a CPU/ });

  // From the agent's GPU facts: two GPUs per node, a rank on GPU 3 gets half of node 1.
  const topo = cpuTopologyFromGpus([0, 1, 2, 3].map((index) => ({ index, numaNode: index < 2 ? 0 : 1 })), nodes);
  t.match(allocateCpus(topo, [], { gpuIndexes: [3], cpuBinding: 'numa' }), { cpus: [4, 5, 12, 13], mems: [1], shared: [], note: null });
});
