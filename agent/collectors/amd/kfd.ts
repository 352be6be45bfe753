/** Reads the KFD sysfs topology (root configurable). I/O only; parse-kfd.ts does the rest. */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ProbeFailedError } from '../../../shared/errors/index.js';
import { parseKfdTopology, type KfdFiles, type KfdTopology } from '../../core/index.js';

export interface KfdReaderOptions {
  /** Directory holding nodes/; default '/sys/class/kfd/kfd/topology'. */
  root?: string;
}

async function numericEntries(dir: string): Promise<number[]> {
  try {
    return (await fsp.readdir(dir)).filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
  } catch {
    return [];
  }
}

export async function readKfdTopology(options: KfdReaderOptions = {}): Promise<KfdTopology> {
  const root = options.root ?? '/sys/class/kfd/kfd/topology';
  const files: KfdFiles = { nodes: new Map(), ioLinks: new Map() };
  const ids = await numericEntries(join(root, 'nodes'));
  if (ids.length === 0) throw new ProbeFailedError(`read ${root}`, 'no KFD topology nodes');
  for (const id of ids) {
    const dir = join(root, 'nodes', String(id));
    try {
      files.nodes.set(id, await fsp.readFile(join(dir, 'properties'), 'utf8'));
    } catch (err) {
      throw new ProbeFailedError(`read ${dir}/properties`, (err as Error).message, null, { cause: err });
    }
    const texts: string[] = [];
    for (const l of await numericEntries(join(dir, 'io_links'))) {
      try {
        texts.push(await fsp.readFile(join(dir, 'io_links', String(l), 'properties'), 'utf8'));
      } catch {
        /* a link vanished while reading: skip */
      }
    }
    files.ioLinks.set(id, texts);
  }
  return parseKfdTopology(files);
}
