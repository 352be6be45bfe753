import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ParseError } from '../../../../shared/errors/index.js';
import { deriveLinkGroups, parseTopoMatrix } from '../../../../agent/core/index.js';
import { derivedFixtures, localFixtures, read, fixture } from '../../collectors/fixtures.js';

/** The body of one `# $ <command>` section of an nvidia_gpu_exporter multi-section capture. */
function section(text: string, command: string): string | undefined {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l === `# $ ${command}`);
  if (at < 0) return undefined;
  const body: string[] = [];
  for (let i = at + 2; i < lines.length && !(lines[i] ?? '').startsWith('####'); i++) body.push(lines[i] ?? '');
  return body.join('\n');
}

const multi = readdirSync(fixture('nvidia_gpu_exporter')).filter((f) => f.startsWith('linux-'));

for (const f of multi) {
  t.test(`topo -m section of ${f}`, async (t) => {
    const raw = read(fixture('nvidia_gpu_exporter', f));
    const text = section(raw, 'nvidia-smi topo -m');
    t.ok(text, 'has a topo -m section');
    if (!text) return;
    const topo = parseTopoMatrix(text);
    // Independent expectations: the GPU rows and the CPU affinity of GPU0 read with a regex.
    const gpuRows = [...text.matchAll(/^(GPU\d+)\t/gm)].map((m) => m[1]);
    t.same(topo.matrix.devices, gpuRows);
    const aff = /^GPU0\t X \t([^\t]*)\t(\d+)/m.exec(text);
    t.equal(topo.affinity[0]?.cpuAffinity, aff?.[1]);
    t.equal(topo.affinity[0]?.numaAffinity, Number(aff?.[2]));
    t.equal(topo.affinity[0]?.gpuNumaId, -1, 'GPU NUMA ID N/A');
    t.same(topo.matrix.rows, [['X']]);
    t.same(deriveLinkGroups(topo), [], 'one GPU: no groups');
  });
}

t.test('repo-local copy parses the same as the section', async (t) => {
  const a = parseTopoMatrix(read(join(localFixtures, 'nvidia/topo-m-h100-1gpu.txt')));
  t.equal(a.affinity[0]?.cpuAffinity, '0-19');
});

t.test('NVLink pairs, PCIe switches, NICs, empty cells, NIC legend (derived)', async (t) => {
  const topo = parseTopoMatrix(read(join(derivedFixtures, 'topo-m-nvlink-pairs-nics.txt')));
  t.same(topo.matrix.devices, ['GPU0', 'GPU1', 'GPU2', 'GPU3', 'GPU4', 'GPU5', 'NIC0', 'NIC1']);
  t.same(topo.matrix.rows[0], ['X', 'NV4', 'PXB', 'PXB', 'SYS', 'SYS', 'PIX', 'SYS']);
  t.same(topo.nics, { NIC0: 'mlx5_0', NIC1: 'mlx5_1' });
  const gpu4 = topo.affinity.find((a) => a.device === 'GPU4');
  t.equal(gpu4?.cpuAffinity, '', 'empty CPU affinity cell kept empty');
  t.equal(gpu4?.numaAffinity, 1, 'columns after an empty cell stay aligned');
  t.equal(topo.affinity.find((a) => a.device === 'NIC0')?.numaAffinity, -1);
  t.same(deriveLinkGroups(topo), [
    { kind: 'nvlink', gpus: [0, 1] },
    { kind: 'nvlink', gpus: [2, 3] },
    { kind: 'pcie-switch', gpus: [0, 1, 2, 3] },
    { kind: 'pcie-switch', gpus: [4, 5] },
    { kind: 'numa', gpus: [0, 1, 2, 3] },
    { kind: 'numa', gpus: [4, 5] },
  ]);
});

t.test('8-GPU HGX (derived): one NVLink group, two NUMA groups', async (t) => {
  const topo = parseTopoMatrix(read(join(localFixtures, 'nvidia/derived/topo-m-h100x8.txt')));
  t.equal(topo.matrix.devices.length, 8);
  t.same(deriveLinkGroups(topo).map((g) => g.kind), ['nvlink', 'numa', 'numa']);
});

t.test('not a matrix is a ParseError', async (t) => {
  for (const input of ['', 'Topology: Not Supported\n', 'NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.']) {
    t.throws(() => parseTopoMatrix(input), ParseError);
  }
  t.throws(() => parseTopoMatrix('\tGPU0\tGPU1\tCPU Affinity\nGPU0\t X \n'), ParseError, 'short row');
});
