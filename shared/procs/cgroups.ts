/**
 * Cgroup trees of test and benchmark agents: each agent a tree of its own (runner.cgroupRoot), removed
 * at the end of the test or benchmark. Tooling for tests and benchmarks, not used by the daemons.
 */
import { existsSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import path from 'node:path';

/** Every cgroup hierarchy's mount point on this host (v2 and v1), from /proc/self/mountinfo. */
export function cgroupMounts(): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const fsType = post.split(' ')[0];
    if (fsType === 'cgroup' || fsType === 'cgroup2') out.push(pre.split(' ')[4]!);
  }
  return out;
}

/**
 * Removes a cgroup tree (a path inside each hierarchy) in every hierarchy, deepest first. Processes still inside are
 * SIGKILLed first (a test that failed half-way may leave a rank behind), then waited for.
 */
export async function removeCgroupTree(root: string): Promise<void> {
  for (const mount of cgroupMounts()) {
    const top = path.join(mount, root);
    if (!existsSync(top)) continue;
    const dirs: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
      dirs.push(d);
    };
    walk(top);
    for (const d of dirs) {
      for (let i = 0; i < 50; i++) {
        const pids = readProcs(d);
        if (pids.length === 0) break;
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone already */
          }
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      try {
        rmdirSync(d);
      } catch {
        /* still busy: left for the next run; never fails a test's teardown */
      }
    }
  }
}

function readProcs(dir: string): number[] {
  try {
    return readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
