/**
 * The node's device files that device rules are made of (the I/O side of devices.ts): stats
 * /dev/nvidia*, /dev/nvidia-caps/*, /dev/nvidia-caps-imex-channels/*, /dev/kfd, /dev/dri/renderD*,
 * /dev/infiniband/* and the configured extra paths (exact, or `<dir>/*`). Missing directories and
 * files are skipped (a node without GPUs has none); what is not a character or block device is
 * left out.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { splitDeviceNumber, type DeviceFile } from './devices.js';

export interface ScanDevicesOptions {
  /** Extra paths from config (`runner.extraDevicePaths`); default none. */
  extraPaths?: readonly string[];
  /** The device directory; default '/dev' (paths are reported under it). */
  devDir?: string;
}

async function names(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

async function deviceFile(p: string): Promise<DeviceFile | null> {
  try {
    const s = await stat(p, { bigint: true });
    const type = s.isCharacterDevice() ? 'c' : s.isBlockDevice() ? 'b' : null;
    if (type === null) return null;
    return { path: p, type, ...splitDeviceNumber(s.rdev) };
  } catch {
    return null;
  }
}

export async function scanDevices(options: ScanDevicesOptions = {}): Promise<DeviceFile[]> {
  const dev = options.devDir ?? '/dev';
  const candidates: string[] = [];
  for (const n of await names(dev)) if (n.startsWith('nvidia') || n === 'kfd') candidates.push(path.join(dev, n));
  for (const sub of ['nvidia-caps', 'nvidia-caps-imex-channels', 'infiniband']) {
    for (const n of await names(path.join(dev, sub))) candidates.push(path.join(dev, sub, n));
  }
  for (const n of await names(path.join(dev, 'dri'))) if (n.startsWith('renderD')) candidates.push(path.join(dev, 'dri', n));
  for (const extra of options.extraPaths ?? []) {
    if (extra.endsWith('/*')) for (const n of await names(extra.slice(0, -2))) candidates.push(path.join(extra.slice(0, -2), n));
    else candidates.push(extra);
  }
  const out: DeviceFile[] = [];
  const seen = new Set<string>();
  for (const p of candidates) {
    if (seen.has(p)) continue;
    seen.add(p);
    const f = await deviceFile(p);
    if (f) out.push(f);
  }
  return out;
}
