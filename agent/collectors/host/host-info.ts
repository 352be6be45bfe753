/** Pure mapping of systeminformation results to the domain HostInfo. No I/O. */
import type { HostInfo } from '../../../shared/domain/index.js';

/** The subset of systeminformation's results the host collector reads. */
export interface HostFacts {
  cpu: { manufacturer: string; brand: string; cores: number };
  mem: { total: number };
  os: { hostname: string; distro: string; release: string; kernel: string; arch: string };
  bios: { vendor: string; version: string; releaseDate: string };
  baseboard: { manufacturer: string; model: string };
  system: { manufacturer: string; model: string; serial: string };
  /** Count of /sys/devices/system/node/node<N>; 0 when unknown. */
  numaNodes: number;
}

const PLACEHOLDER = /^(?:default string|to be filled by o\.e\.m\.|not specified|none|n\/a|0+|system serial number)$/i;

function clean(s: string | undefined): string {
  const t = (s ?? '').trim();
  return PLACEHOLDER.test(t) ? '' : t;
}

function join(...parts: Array<string | undefined>): string {
  return parts.map(clean).filter((p) => p !== '').join(' ');
}

export function toHostInfo(f: HostFacts): HostInfo {
  const brand = clean(f.cpu.brand);
  const maker = clean(f.cpu.manufacturer);
  return {
    hostname: f.os.hostname,
    cpuModel: maker && !brand.startsWith(maker) ? `${maker} ${brand}` : brand,
    cpuCores: f.cpu.cores,
    memoryBytes: f.mem.total,
    numaNodes: f.numaNodes,
    os: join(f.os.distro, f.os.release),
    kernel: f.os.kernel,
    arch: f.os.arch,
    biosVendor: clean(f.bios.vendor),
    biosVersion: clean(f.bios.version),
    biosDate: clean(f.bios.releaseDate),
    baseboard: join(f.baseboard.manufacturer, f.baseboard.model),
    systemSerial: clean(f.system.serial),
  };
}
