/** Inventory builders: GPUs as an agent reports them, for tests that register nodes without a probe. */
import type { GpuInfo } from '../../shared/domain/index.js';

/** GPU `index` of a node, an H100 SXM by default; `extra` overrides any field (name, memory, ...). */
export function gpuInfo(index: number, extra: Partial<GpuInfo> = {}): GpuInfo {
  return {
    index,
    uuid: `GPU-${index}`,
    name: 'NVIDIA H100 80GB HBM3',
    vendor: 'nvidia',
    memoryMiB: 81559,
    pciBusId: `00000000:${String(index + 10)}:00.0`,
    serial: '',
    vbiosVersion: '',
    inforomVersion: '',
    gspFirmwareVersion: '',
    numaNode: 0,
    nvlinkDomain: '',
    linkRow: [],
    migEnabled: false,
    ...extra,
  };
}
