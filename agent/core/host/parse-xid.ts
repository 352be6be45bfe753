/**
 * Pure parser of NVIDIA XID reports in the kernel log. No I/O.
 *
 * Accepts both /dev/kmsg records ("<prio>,<seq>,<usec>,<flags>;NVRM: Xid (PCI:0000:9b:00): 119, ...")
 * and dmesg lines ("[Sun Feb 23 16:24:18 2025] NVRM: Xid (PCI:0000:9b:00): 119, pid=..., name=..., ...").
 */
export interface XidEvent {
  xid: number;
  /** As the driver prints it, e.g. "0000:9b:00". */
  pci: string;
  /** "<bus>:<device>" lower-case with the domain dropped, for matching against GpuInfo.pciBusId. */
  busDevice: string;
  pid: number | null;
  processName: string;
  /** The text after the XID number. */
  message: string;
  /** /dev/kmsg sequence number, when read from kmsg. */
  seq: number | null;
  /** Microseconds since boot, when read from kmsg. */
  monotonicUs: number | null;
  /** dmesg's bracketed timestamp text, when present. */
  timestamp: string;
}

const XID = /NVRM: Xid \(PCI:([0-9a-fA-F]+(?::[0-9a-fA-F]+){1,2}(?:\.[0-7])?)\): (\d+),\s*(.*)$/;
const KMSG_PREFIX = /^(\d+),(\d+),(\d+),[^;]*;/;
const DMESG_TS = /^\[([^\]]+)\]/;

/** "0000:9b:00" / "00000000:9B:00.0" -> "9b:00". */
export function pciBusDevice(pci: string): string {
  const parts = pci.trim().toLowerCase().split('.')[0]?.split(':') ?? [];
  const tail = parts.slice(-2);
  return tail.length === 2 ? tail.join(':') : pci.toLowerCase();
}

export function parseXidLine(line: string): XidEvent | null {
  const m = XID.exec(line);
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  const rest = (m[3] ?? '').trim();
  const pid = /(?:^|,\s*)pid=(\d+)/.exec(rest);
  const name = /(?:^|,\s*)name=([^,]*)/.exec(rest);
  const k = KMSG_PREFIX.exec(line);
  const ts = DMESG_TS.exec(line);
  return {
    xid: Number(m[2]),
    pci: m[1],
    busDevice: pciBusDevice(m[1]),
    pid: pid ? Number(pid[1]) : null,
    processName: name?.[1]?.trim() ?? '',
    message: rest,
    seq: k ? Number(k[2]) : null,
    monotonicUs: k ? Number(k[3]) : null,
    timestamp: ts?.[1] ?? '',
  };
}

export function parseXidLog(text: string): XidEvent[] {
  const out: XidEvent[] = [];
  for (const line of text.split('\n')) {
    const e = parseXidLine(line);
    if (e) out.push(e);
  }
  return out;
}
