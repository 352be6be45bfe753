/** Reads this host's cgroup layout (the files layout.ts's pure detection takes). */
import { readFile } from 'node:fs/promises';
import { readText } from './cgroup-files.js';
import { detectLayout, type DetectedLayout } from './layout.js';

export interface HostLayoutOptions {
  /** Whether a device-rule applier will be given to the manager; default false. */
  devicesApplier?: boolean;
  /** Where the proc files are read from; default "/proc/self". */
  procSelf?: string;
}

/** Reads mountinfo, /proc/self/cgroup and the v2 root's cgroup.controllers, and detects the layout. */
export async function detectHostLayout(opts: HostLayoutOptions = {}): Promise<DetectedLayout> {
  const proc = opts.procSelf ?? '/proc/self';
  const mountinfo = await readText(`${proc}/mountinfo`);
  const procCgroup = await readText(`${proc}/cgroup`);
  const devicesApplier = opts.devicesApplier ?? false;
  const v2Mount = detectLayout({ mountinfo, procCgroup, v2Controllers: null, devicesApplier }).layout.v2Mount;
  let v2Controllers: string | null = null;
  if (v2Mount !== null) {
    try {
      v2Controllers = await readFile(`${v2Mount}/cgroup.controllers`, 'utf8');
    } catch {
      v2Controllers = null;
    }
  }
  return detectLayout({ mountinfo, procCgroup, v2Controllers, devicesApplier });
}
