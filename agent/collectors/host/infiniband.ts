/**
 * Reads /sys/class/infiniband (root configurable, so tests point it at a copied tree). I/O only;
 * values are parsed by parse-infiniband.ts.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { HcaInfo } from '../../../shared/domain/index.js';
import { hcaFromSysfs, type SysfsPortFiles } from './parse-infiniband.js';

export interface InfinibandReaderOptions {
  /** Default '/sys/class/infiniband'. */
  root?: string;
}

async function readOpt(path: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return (await fsp.readdir(path)).sort();
  } catch {
    return [];
  }
}

/** Every HCA under the root, sorted by name; an absent root gives []. */
export async function readInfiniband(options: InfinibandReaderOptions = {}): Promise<HcaInfo[]> {
  const root = options.root ?? '/sys/class/infiniband';
  const out: HcaInfo[] = [];
  for (const name of await listDir(root)) {
    const dir = join(root, name);
    const ports: SysfsPortFiles[] = [];
    for (const p of await listDir(join(dir, 'ports'))) {
      if (!/^\d+$/.test(p)) continue;
      const pd = join(dir, 'ports', p);
      const [state, physState, rate, linkLayer] = await Promise.all([
        readOpt(join(pd, 'state')),
        readOpt(join(pd, 'phys_state')),
        readOpt(join(pd, 'rate')),
        readOpt(join(pd, 'link_layer')),
      ]);
      ports.push({
        port: Number(p),
        ...(state !== undefined ? { state } : {}),
        ...(physState !== undefined ? { physState } : {}),
        ...(rate !== undefined ? { rate } : {}),
        ...(linkLayer !== undefined ? { linkLayer } : {}),
      });
    }
    const [hcaType, fwVer, boardId] = await Promise.all([
      readOpt(join(dir, 'hca_type')),
      readOpt(join(dir, 'fw_ver')),
      readOpt(join(dir, 'board_id')),
    ]);
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
