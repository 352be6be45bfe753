/** CPU allocation (pure), table-driven over the `topo -m` captures in fixtures/ and hand-built nodes. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { InvalidArgumentError } from '../../../../shared/errors/index.js';
import { parseTopoMatrix } from '../../../../agent/core/nvidia/parse-topo.js';
import { allocateCpus, formatCpuList, gpuAffinitiesFromTopo, parseCpuList, type CpuTopology } from '../../../../agent/runner/cgroup/cpus.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../../../fixtures/nvidia');
const TOPO_FILES = ['topo-m-h100-1gpu.txt', 'derived/topo-m-h100x8.txt', 'derived/topo-m-gb200x4.txt', 'h100-vm-580.159.04/topo-m.txt', 'h200-vm-580.159.04/topo-m.txt'];
const read = (f: string): string => readFileSync(path.join(FIXTURES, f), 'utf8');

/** A fixture's topology, node CPUs taken from its GPUs' affinities (nodeCpus empty: the fallback). */
const fromFixture = (f: string): CpuTopology => ({ nodeCpus: new Map(), gpus: gpuAffinitiesFromTopo(parseTopoMatrix(read(f)).affinity) });
const L = (s: string): number[] => parseCpuList(s);

t.test('the captures: every GPU row\'s CPU Affinity cell is parsed (checked against the cell in the file)', async (t) => {
  for (const f of TOPO_FILES) {
    const cells = read(f)
      .split('\n')
      .filter((l) => /^GPU\d+\t/.test(l))
      .map((l) => l.split('\t'));
    const gpus = fromFixture(f).gpus;
    t.equal(gpus.length, cells.length, `${f}: one entry per GPU row`);
    gpus.forEach((g, i) => {
      const row = cells[i]!;
      const cpuCell = row[row.length - 4]!; // ... CPU Affinity, NUMA Affinity, '', GPU NUMA ID
      t.ok(g.cpus.length > 0, `${f} GPU${g.index}: CPUs parsed`);
      t.equal(formatCpuList(g.cpus), cpuCell, `${f} GPU${g.index}: ${cpuCell}`);
      t.equal(g.numaNode, Number(row[row.length - 3]), `${f} GPU${g.index}: NUMA node`);
    });
  }
});

const h100x8 = fromFixture('derived/topo-m-h100x8.txt');
const gb200 = fromFixture('derived/topo-m-gb200x4.txt');
const oneGpu = fromFixture('topo-m-h100-1gpu.txt');
/** Hand-built: 8 GPUs on one 64-CPU node. */
const flat: CpuTopology = { nodeCpus: new Map([[0, L('0-63')]]), gpus: [0, 1, 2, 3, 4, 5, 6, 7].map((index) => ({ index, numaNode: 0, cpus: L('0-63') })) };
/** Hand-built: node CPUs known from sysfs (smaller than the GPUs' affinity says), one GPU without a NUMA node. */
const sysfs: CpuTopology = {
  nodeCpus: new Map([[0, L('0-7')], [1, L('8-15')]]),
  gpus: [
    { index: 0, numaNode: 0, cpus: L('0-15') },
    { index: 1, numaNode: 1, cpus: L('0-15') },
    { index: 2, numaNode: -1, cpus: [] },
  ],
};

const cases: Array<{ name: string; topo: CpuTopology; held?: string[]; gpus: number[]; binding?: 'numa' | 'none'; want: { cpus: string; mems: number[]; shared?: string; note?: RegExp } | null }> = [
  { name: 'binding none', topo: h100x8, gpus: [0, 1], binding: 'none', want: null },
  { name: 'no GPUs', topo: h100x8, gpus: [], want: null },
  { name: 'GPUs with no NUMA node', topo: sysfs, gpus: [2], want: null },
  { name: 'GPUs not on the node', topo: h100x8, gpus: [12], want: null },
  { name: 'one GPU of one: the whole node', topo: oneGpu, gpus: [0], want: { cpus: '0-19', mems: [0] } },
  { name: '4 of 8 GPUs on a 64-CPU node: 32', topo: flat, gpus: [1, 3, 5, 7], want: { cpus: '0-31', mems: [0] } },
  { name: '4 of 8 GPUs, the other half held: the rest', topo: flat, held: ['0-31'], gpus: [0, 2, 4, 6], want: { cpus: '32-63', mems: [0] } },
  { name: 'h100x8, GPU0: a quarter of node 0, spread over both ranges (cores with their SMT siblings)', topo: h100x8, gpus: [0], want: { cpus: '0-11,96-107', mems: [0] } },
  { name: 'h100x8, GPU1 beside a rank on GPU0', topo: h100x8, held: ['0-11,96-107'], gpus: [1], want: { cpus: '12-23,108-119', mems: [0] } },
  { name: 'h100x8, GPUs 0-3: all of node 0', topo: h100x8, gpus: [0, 1, 2, 3], want: { cpus: '0-47,96-143', mems: [0] } },
  { name: 'h100x8, GPUs 2-5 across both nodes: half of each', topo: h100x8, gpus: [2, 3, 4, 5], want: { cpus: '0-23,48-71,96-119,144-167', mems: [0, 1] } },
  { name: 'gb200x4, GPU2: half of node 1', topo: gb200, gpus: [2], want: { cpus: '72-107', mems: [1] } },
  { name: 'sysfs node CPUs win over the GPU affinity; an unplaced GPU is noted', topo: sysfs, gpus: [1, 2], want: { cpus: '8-15', mems: [1], note: /GPU 2: NUMA node unknown/ } },
  {
    name: 'ran out: all of node 0 held once; the lowest ids shared, and said',
    topo: h100x8,
    held: ['0-47,96-143'],
    gpus: [0],
    want: { cpus: '0-23', mems: [0], shared: '0-23', note: /NUMA node 0: 24 CPUs wanted, 0 free; 24 shared/ },
  },
  {
    name: 'ran out partly: the free ones, then the least shared (10-20 held twice)',
    topo: h100x8,
    held: ['10-47,96-143', '10-20'],
    gpus: [3],
    want: { cpus: '0-9,21-34', mems: [0], shared: '21-34', note: /24 CPUs wanted, 10 free; 14 shared with running ranks \(21-34\)/ },
  },
];

for (const k of cases) {
  t.test(k.name, async (t) => {
    const got = allocateCpus(k.topo, (k.held ?? []).map(L), { gpuIndexes: k.gpus, cpuBinding: k.binding ?? 'numa' });
    if (k.want === null) return void t.equal(got, null);
    t.equal(formatCpuList(got?.cpus ?? []), k.want.cpus, 'cpus');
    t.same(got?.mems, k.want.mems, 'mems');
    t.equal(formatCpuList(got?.shared ?? []), k.want.shared ?? '', 'shared');
    if (k.want.note) t.match(got?.note, k.want.note, 'note');
    else if (!k.want.shared) t.equal(got?.note, null, 'nothing to say');
  });
}

t.test('ranks of one node placed one after another never overlap while CPUs last', async (t) => {
  const held: number[][] = [];
  for (const gpu of [0, 1, 2, 3, 4, 5, 6, 7]) {
    const a = allocateCpus(h100x8, held, { gpuIndexes: [gpu], cpuBinding: 'numa' });
    t.equal(a?.cpus.length, 24, `GPU${gpu}: 24 CPUs`);
    t.same(a?.shared, []);
    for (const h of held) t.notOk(a?.cpus.some((c) => h.includes(c)), `GPU${gpu} overlaps no earlier rank`);
    held.push(a?.cpus ?? []);
  }
  t.equal(new Set(held.flat()).size, 192, 'the 8 ranks cover the node');
});

t.test('CPU lists', async (t) => {
  t.same(parseCpuList('0-2,5, 7-8'), [0, 1, 2, 5, 7, 8]);
  t.same(parseCpuList(''), []);
  t.same(parseCpuList('N/A'), []);
  t.equal(formatCpuList([8, 7, 0, 1, 2, 5, 5]), '0-2,5,7-8');
  for (const bad of ['0-', 'a', '3-1', '1,,2', '99999999']) t.throws(() => parseCpuList(bad, 'GPU0 CPU Affinity'), InvalidArgumentError, bad);
  t.throws(() => parseCpuList('3-1', 'GPU0 CPU Affinity'), { message: /GPU0 CPU Affinity: range "3-1" runs backwards/ });
});
