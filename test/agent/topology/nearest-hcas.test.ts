import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { nearestHcas } from '../../../agent/topology/index.js';
import { applyTopology } from '../../../agent/collectors/index.js';
import { parseTopoMatrix } from '../../../agent/core/index.js';
import { emptyInventory, type HcaInfo, type Inventory } from '../../../shared/domain/index.js';
import { ROOT } from '../../harness/cluster.js';

const topo = parseTopoMatrix(readFileSync(path.join(ROOT, 'test', 'fixtures', 'derived', 'topo-m-nvlink-pairs-nics.txt'), 'utf8'));

function inventory(hcas: HcaInfo[]): Inventory {
  const inv = emptyInventory('n');
  const gpus = [0, 1, 2, 3, 4, 5].map((i) => ({
    index: i, uuid: `u${i}`, name: 'G', vendor: 'nvidia' as const, memoryMiB: 1, pciBusId: '', serial: '', vbiosVersion: '', inforomVersion: '',
    gspFirmwareVersion: '', numaNode: -1, nvlinkDomain: '', linkRow: [], migEnabled: false,
  }));
  inv.gpus = applyTopology(gpus, topo);
  inv.topology.linkMatrix = topo.matrix;
  inv.topology.nics = topo.nics;
  inv.hcas = hcas;
  return inv;
}

const hca = (name: string, state: string): HcaInfo => ({ name, hcaType: 'MT4129', firmwareVersion: '28.41', boardId: 'b', ports: [{ port: 1, state, physState: 'LinkUp', rateGbps: 400, linkLayer: 'InfiniBand' }] });

const cases: Array<[string, number[], HcaInfo[], string[]]> = [
  ['GPUs under the PCIe switch of NIC0', [0, 1], [], ['mlx5_0']],
  ['GPU2 reaches NIC0 within its NUMA node', [2], [], ['mlx5_0']],
  ['GPUs of the other socket take NIC1', [4, 5], [], ['mlx5_1']],
  ['a rank spanning both sockets takes both', [1, 4], [], ['mlx5_0', 'mlx5_1']],
  ['a down HCA is not offered; the GPU falls back to none nearer, then every active one', [4], [hca('mlx5_0', 'ACTIVE'), hca('mlx5_1', 'DOWN')], ['mlx5_0']],
  ['active HCAs are kept', [0], [hca('mlx5_0', 'ACTIVE'), hca('mlx5_1', 'ACTIVE')], ['mlx5_0']],
];
for (const [name, gpus, hcas, want] of cases) {
  t.test(name, async (t) => t.same(nearestHcas(inventory(hcas), gpus), want));
}

t.test('without NIC columns: every HCA with an active port; nothing known: none', async (t) => {
  const inv = emptyInventory('n');
  inv.hcas = [hca('mlx5_2', 'ACTIVE'), hca('mlx5_3', 'DOWN'), hca('mlx5_1', 'ACTIVE')];
  t.same(nearestHcas(inv, [0]), ['mlx5_1', 'mlx5_2']);
  t.same(nearestHcas(emptyInventory('n'), [0]), []);
});
