/**
 * Reads /sys/class/infiniband (root configurable, so tests point it at a copied tree). I/O only;
 * values are parsed by parse-infiniband.ts.
 *
 * Synchronous reads on purpose: these are a few dozen tiny sysfs attributes served from kernel
 * memory each cycle, and `fs.promises.readFile` costs ~0.2 ms of CPU per file (open, stat, read,
 * close, each a thread-pool round trip) against ~15 µs for readFileSync: 15 ms of the agent's
 * cycle on a 9-HCA node, measured with scripts/measure-agent.mjs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HcaInfo } from '../../../shared/domain/index.js';
import { hcaFromSysfs, type SysfsPortFiles } from '../../core/index.js';

export interface InfinibandReaderOptions {
  /** Default '/sys/class/infiniband'. */
  root?: string;
}

function readOpt(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path).sort();
  } catch {
    return [];
  }
}

/** Every HCA under the root, sorted by name; an absent root gives []. */
export async function readInfiniband(options: InfinibandReaderOptions = {}): Promise<HcaInfo[]> {
  const root = options.root ?? '/sys/class/infiniband';
  const out: HcaInfo[] = [];
  for (const name of listDir(root)) {
    const dir = join(root, name);
    const ports: SysfsPortFiles[] = [];
    for (const p of listDir(join(dir, 'ports'))) {
      if (!/^\d+$/.test(p)) continue;
      const pd = join(dir, 'ports', p);
      const state = readOpt(join(pd, 'state'));
      const physState = readOpt(join(pd, 'phys_state'));
      const rate = readOpt(join(pd, 'rate'));
      const linkLayer = readOpt(join(pd, 'link_layer'));
      ports.push({
        port: Number(p),
        ...(state !== undefined ? { state } : {}),
        ...(physState !== undefined ? { physState } : {}),
        ...(rate !== undefined ? { rate } : {}),
        ...(linkLayer !== undefined ? { linkLayer } : {}),
      });
    }
    const hcaType = readOpt(join(dir, 'hca_type'));
    const fwVer = readOpt(join(dir, 'fw_ver'));
    const boardId = readOpt(join(dir, 'board_id'));
    out.push(
      hcaFromSysfs({
        name,
        ports,
        ...(hcaType !== undefined ? { hcaType } : {}),
        ...(fwVer !== undefined ? { fwVer } : {}),
        ...(boardId !== undefined ? { boardId } : {}),
      }),
    );
  }
  return out;
}
