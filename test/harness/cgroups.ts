/**
 * Test agents' rank cgroups: each agent a tree of its own (runner.cgroupRoot), named after its state
 * dir so an agent restarted in place finds its ranks' cgroups again, and removed at the test's end.
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

/** The runner.cgroupRoot a test agent with this state dir uses. */
export function testCgroupRoot(stateDir: string): string {
  return `/gantry-test/${path.basename(stateDir)}`;
}

/**
 * Removes a test agent's cgroup tree in every hierarchy, deepest first. Processes still inside are
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
