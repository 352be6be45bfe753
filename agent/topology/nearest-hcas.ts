/**
 * Pure: the RDMA devices nearest a rank's GPUs, for NCCL_IB_HCA. From the link matrix's NIC
 * columns, each GPU takes the NICs at its best PCIe distance (PIX, then PXB, then PHB, then NODE;
 * never across sockets, SYS); the result is their union, mapped through the NIC legend to device
 * names, keeping only HCAs with an active InfiniBand or RoCE port when the agent knows them.
 * Without NIC columns, every HCA with an active port. Empty when nothing is known.
 */
import type { Inventory } from '../../shared/domain/index.js';

const RANK: Record<string, number> = { PIX: 0, PXB: 1, PHB: 2, NODE: 3 };

export function nearestHcas(inv: Inventory, gpuIndices: readonly number[]): string[] {
  const active = new Set(inv.hcas.filter((h) => h.ports.some((p) => p.state.toUpperCase() === 'ACTIVE')).map((h) => h.name));
  const known = inv.hcas.length > 0;
  const usable = (name: string): boolean => !known || active.has(name);
  const devices = inv.topology.linkMatrix.devices;
  const nicCols = devices.map((d, i) => ({ d, i })).filter(({ d }) => /^NIC\d+$/.test(d) && inv.topology.nics[d]);
  const chosen = new Set<string>();
  if (nicCols.length > 0) {
    for (const g of gpuIndices) {
      const row = inv.gpus.find((x) => x.index === g)?.linkRow ?? [];
      let best = Infinity;
      const at: Array<{ name: string; rank: number }> = [];
      for (const { d, i } of nicCols) {
        const rank = RANK[(row[i] ?? '').trim()];
        const name = inv.topology.nics[d]!;
        if (rank === undefined || !usable(name)) continue;
        at.push({ name, rank });
        best = Math.min(best, rank);
      }
      for (const a of at) if (a.rank === best) chosen.add(a.name);
    }
    if (chosen.size > 0) return [...chosen].sort();
  }
  return [...active].sort();
}
