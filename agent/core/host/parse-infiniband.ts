/**
 * Pure parsers for InfiniBand / RDMA adapters: the values of /sys/class/infiniband files, and
 * `ibstat` text. No I/O.
 */
import type { HcaInfo, HcaPort } from '../../../shared/domain/index.js';

/** "4: ACTIVE" -> "ACTIVE"; "5: LinkUp" -> "LinkUp". */
export function sysfsStateName(raw: string): string {
  const t = raw.trim();
  const m = /^\d+:\s*(.*)$/.exec(t);
  return (m?.[1] ?? t).trim();
}

/** "400 Gb/sec (4X NDR)" -> 400; "" -> 0. */
export function sysfsRateGbps(raw: string): number {
  const m = /^([\d.]+)\s*Gb\/sec/i.exec(raw.trim());
  return m ? Number(m[1]) : 0;
}

/** The files of one port directory, as read (missing files as undefined). */
export interface SysfsPortFiles {
  port: number;
  state?: string;
  physState?: string;
  rate?: string;
  linkLayer?: string;
}

export interface SysfsHcaFiles {
  name: string;
  hcaType?: string;
  fwVer?: string;
  boardId?: string;
  ports: SysfsPortFiles[];
}

export function hcaFromSysfs(files: SysfsHcaFiles): HcaInfo {
  return {
    name: files.name,
    hcaType: (files.hcaType ?? '').trim(),
    firmwareVersion: (files.fwVer ?? '').trim(),
    boardId: (files.boardId ?? '').trim(),
    ports: files.ports
      .map(
        (p): HcaPort => ({
          port: p.port,
          state: sysfsStateName(p.state ?? '').toUpperCase(),
          physState: sysfsStateName(p.physState ?? ''),
          rateGbps: sysfsRateGbps(p.rate ?? ''),
          linkLayer: (p.linkLayer ?? '').trim(),
        }),
      )
      .sort((a, b) => a.port - b.port),
  };
}

/**
 * `ibstat` output. States are upper-cased to match sysfs ("Active" -> "ACTIVE"); `Rate: 400` is Gb/s.
 */
export function parseIbstat(text: string): HcaInfo[] {
  const out: HcaInfo[] = [];
  let hca: HcaInfo | undefined;
  let port: HcaPort | undefined;
  for (const raw of text.replace(/\r\n/g, '\n').split('\n')) {
    const ca = /^CA '([^']+)'/.exec(raw);
    if (ca) {
      hca = { name: ca[1] ?? '', hcaType: '', firmwareVersion: '', boardId: '', ports: [] };
      out.push(hca);
      port = undefined;
      continue;
    }
    if (!hca) continue;
    const kv = /^\s+([^:]+):\s*(.*?)\s*$/.exec(raw);
    if (!kv) continue;
    const key = (kv[1] ?? '').trim();
    const value = kv[2] ?? '';
    const portHead = /^Port (\d+)$/.exec(key);
    if (portHead) {
      port = { port: Number(portHead[1]), state: '', physState: '', rateGbps: 0, linkLayer: '' };
      hca.ports.push(port);
      continue;
    }
    if (port) {
      if (key === 'State') port.state = value.toUpperCase();
      else if (key === 'Physical state') port.physState = value;
      else if (key === 'Rate') port.rateGbps = Number(value) || 0;
      else if (key === 'Link layer') port.linkLayer = value;
      continue;
    }
    if (key === 'CA type') hca.hcaType = value;
    else if (key === 'Firmware version') hca.firmwareVersion = value;
  }
  return out;
}
