/** Pure mapping of systeminformation results to the domain HostInfo. No I/O. */
import type { HostInfo } from '../../../shared/domain/index.js';
import { ParseError } from '../../../shared/errors/index.js';

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

/** The HostFacts fields out of the child's JSON; ParseError when it is not what the child prints. */
export function parseHostFactsJson(text: string, numaNodes: number): HostFacts {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ParseError('systeminformation host probe', `not JSON: ${(err as Error).message}`, { cause: err });
  }
  const o = (doc ?? {}) as Record<string, Record<string, unknown> | undefined>;
  for (const k of ['cpu', 'mem', 'os', 'bios', 'baseboard', 'system']) {
    if (typeof o[k] !== 'object' || o[k] === null) throw new ParseError('systeminformation host probe', `no "${k}" object`);
  }
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const { cpu, mem, os, bios, baseboard, system } = o as Record<string, Record<string, unknown>>;
  return {
    cpu: { manufacturer: str(cpu!['manufacturer']), brand: str(cpu!['brand']), cores: num(cpu!['cores']) },
    mem: { total: num(mem!['total']) },
    os: { hostname: str(os!['hostname']), distro: str(os!['distro']), release: str(os!['release']), kernel: str(os!['kernel']), arch: str(os!['arch']) },
    bios: { vendor: str(bios!['vendor']), version: str(bios!['version']), releaseDate: str(bios!['releaseDate']) },
    baseboard: { manufacturer: str(baseboard!['manufacturer']), model: str(baseboard!['model']) },
    system: { manufacturer: str(system!['manufacturer']), model: str(system!['model']), serial: str(system!['serial']) },
    numaNodes,
  };
}
