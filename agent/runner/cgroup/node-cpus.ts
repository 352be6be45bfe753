/**
 * The node's CPUs per NUMA node, from sysfs (/sys/devices/system/node/node<N>/cpulist): the I/O side
 * of cpus.ts. A host without that directory (no NUMA support compiled in) is one node, 0, holding
 * /sys/devices/system/cpu/online. A cpulist that does not parse is an InvalidArgumentError naming
 * the file.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { parseCpuList } from './cpus.js';

export interface ReadNodeCpusOptions {
  /** Default '/sys/devices/system'. */
  sysDir?: string;
}

export async function readNodeCpus(options: ReadNodeCpusOptions = {}): Promise<Map<number, number[]>> {
  const sys = options.sysDir ?? '/sys/devices/system';
  const out = new Map<number, number[]>();
  let names: string[] = [];
  try {
    names = await readdir(path.join(sys, 'node'));
  } catch {
    names = [];
  }
  for (const n of names) {
    const m = /^node(\d+)$/.exec(n);
    if (!m) continue;
    const file = path.join(sys, 'node', n, 'cpulist');
    out.set(Number(m[1]), parseCpuList(await readFile(file, 'utf8'), file));
  }
  if (out.size === 0) {
    const file = path.join(sys, 'cpu', 'online');
    out.set(0, parseCpuList(await readFile(file, 'utf8'), file));
  }
  return new Map([...out].sort((a, b) => a[0] - b[0]));
}
