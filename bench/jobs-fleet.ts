/**
 * The jobs benchmark's shared parts: the simulated agents' fleet (512 real agents hosted 128 per
 * fleet process), what the machine can hold, the runner's task records, and the supervisor
 * processes found through /proc. Used by every scenario of bench/jobs.ts and by the Slurm
 * comparison's Gantry side.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot, processesMentioning } from '../shared/procs/index.js';
import type { ListNodesResponse__Output } from '../shared/proto/index.js';
import { agentConfigSchema } from '../agent/config.js';
import type { FleetPlan } from './fleet.js';
import { nodeCertFile, nodeKeyFile, writeNodeCerts, type BenchPki } from './bench-pki.js';
import { call, H100_TOPO, H100_XML, sleep, uuidFor, type Sched } from './parts.js';
import { procStat } from './suite.js';

const ROOT = packageRoot();
export const FLEET = path.join(ROOT, 'dist', 'bench', 'fleet.js');
export const SUPERVISOR = path.join(ROOT, 'dist', 'agent', 'runner', 'supervisor.js');
/** The native supervisor; the agents use it (runner.supervisor 'auto') when it was built. */
export const NATIVE_SUPERVISOR = path.join(ROOT, 'dist', 'agent', 'runner', 'gantry-supervisor');
/** Agents per fleet process. */
export const PER_FLEET = 128;
/**
 * Memory per supervisor (a rank's, or an idle warm one), for the "does it fit" check: measured
 * ≈ 7.3 MiB PSS each with 256 of each kind side by side.
 */
export const RANK_BUDGET_BYTES = 9 * 2 ** 20;
/** Memory per fleet process (128 agents), for the same check: measured ≈ 150 MiB PSS. */
export const FLEET_BUDGET_BYTES = 200 * 2 ** 20;
/** Idle warm supervisors per agent: the agent's default (runner.warmSupervisors), none with the native supervisor. */
export const WARM_PER_AGENT = existsSync(NATIVE_SUPERVISOR) ? 0 : agentConfigSchema.parse({}).runner.warmSupervisors;
/** Keep the whole benchmark under this (the machine is shared). */
export const MEMORY_CAP_BYTES = 10 * 2 ** 30;

/**
 * The file system a path is on: its type, from /proc/self/mounts (the longest mount point that
 * holds it), with "no journal" for an ext4 mounted without one, where creating files right after
 * many were deleted is slow (the kernel skips recently freed inodes one by one: recently_deleted).
 */
export function fsTypeOf(p: string): string {
  let best = { dir: '', type: 'unknown', dev: '' };
  try {
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const [dev = '', dir = '', type = ''] = line.split(' ');
      if ((p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`)) && dir.length > best.dir.length) best = { dir, type, dev };
    }
  } catch {
    // no /proc
  }
  if (best.type !== 'ext4') return best.type;
  try {
    const journal = readFileSync(`/sys/fs/ext4/${path.basename(best.dev)}/journal_task`, 'utf8').trim();
    return journal === '<none>' ? 'ext4, no journal' : 'ext4';
  } catch {
    return best.type;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Where a benchmark's agents keep their rank cgroups (each agent a subtree), removed after its fleets stop. */
export function fleetCgroupRoot(root: string): string {
  return `/gantry-bench/${path.basename(root)}`;
}

export interface Fleet {
  children: ChildProcess[];
  names: string[];
  stateDirOf: Map<string, string>;
  startupMs: number[];
  stop(): Promise<void>;
}

/**
 * `count` agents in ceil(count / PER_FLEET) fleet processes. Each node gets an executable
 * nvidia-smi that prints its personalised capture (the real collector spawns and parses it).
 * topologyOf gives agent i its topology labels (default: leaves of 32 nodes under spines of 256).
 */
export async function startFleet(root: string, scheduler: string, count: number, prefix: string, log: (l: string) => void, stateRoot = root, topologyOf: (i: number) => Record<string, string> = (i) => ({ leaf: `leaf-${Math.floor(i / 32)}`, spine: `spine-${Math.floor(i / 256)}` }), pki?: BenchPki, containment = true): Promise<Fleet> {
  const xml = readFileSync(H100_XML, 'utf8');
  const names: string[] = [];
  const stateDirOf = new Map<string, string>();
  const plans: FleetPlan[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${String(i).padStart(4, '0')}`;
    const dir = path.join(root, 'nodes', name);
    mkdirSync(dir, { recursive: true });
    let g = 0;
    writeFileSync(path.join(dir, 'q.xml'), xml.replace(/(<gpu\b[^>]*>[\s\S]*?)<uuid>[^<]*<\/uuid>/g, (_m, head: string) => `${head}<uuid>${uuidFor(name, g++)}</uuid>`));
    const smi = path.join(dir, 'nvidia-smi');
    writeFileSync(
      smi,
      `#!/bin/sh\ncase "$1" in\n  topo) exec cat '${H100_TOPO}' ;;\n  nvlink) echo 'Device does not have or support Nvlink'; exit 0 ;;\n  *) exec cat '${path.join(dir, 'q.xml')}' ;;\nesac\n`,
      { mode: 0o755 },
    );
    const stateDir = stateRoot === root ? path.join(dir, 'state') : path.join(stateRoot, name);
    stateDirOf.set(name, stateDir);
    names.push(name);
    const f = Math.floor(i / PER_FLEET);
    plans[f] ??= { scheduler, agents: [], startConcurrency: 16, containment: containment ? 'auto' : 'off', cgroupRoot: fleetCgroupRoot(root), ...(pki ? { caFile: pki.caFile } : {}) };
    // With mTLS each agent proves its node with its own node certificate.
    if (pki) await writeNodeCerts(pki, [name], dir);
    plans[f]!.agents.push({ name, stateDir, nvidiaSmi: smi, topology: topologyOf(i), ...(pki ? { certFile: nodeCertFile(dir, name), keyFile: nodeKeyFile(dir, name) } : {}) });
  }
  const children: ChildProcess[] = [];
  const startupMs: number[] = [];
  await Promise.all(
    plans.map(async (plan, f) => {
      const file = path.join(root, `fleet-${prefix}-${f}.json`);
      writeFileSync(file, JSON.stringify(plan));
      // e.g. GANTRY_BENCH_FLEET_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the fleet processes
      const nodeArgs = (process.env.GANTRY_BENCH_FLEET_NODE_ARGS ?? '').split(' ').filter(Boolean);
      const child = spawn(process.execPath, [...nodeArgs, FLEET, file], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let err = '';
      child.stderr!.on('data', (b: Buffer) => {
        err = (err + b.toString()).slice(-4000);
      });
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`fleet ${f} not ready after 180 s: ${err}`)), 180_000);
        child.stdout!.on('data', (b: Buffer) => {
          out += b.toString();
          const m = /\{"ready":(\d+),"ms":(\d+)\}/.exec(out);
          if (m) {
            clearTimeout(timer);
            startupMs.push(Number(m[2]));
            resolve();
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`fleet ${f} exited (${code}): ${err}`));
        });
      });
    }),
  );
  log(`  ${count} agents up in ${plans.length} fleet process(es) (slowest ${Math.max(...startupMs)} ms)`);
  return {
    children,
    names,
    stateDirOf,
    startupMs,
    async stop() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
              c.once('exit', () => {
                clearTimeout(t);
                resolve();
              });
              c.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

export async function waitNodesReady(s: Sched, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call<ListNodesResponse__Output>(s, 'ListNodes', {});
    const ready = res.nodes.filter((n) => String(n.connectivity).toLowerCase().includes('ready')).length;
    if (ready >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${ready} of ${count} nodes ready`);
    await sleep(200);
  }
}

export function readRecord(file: string): Record<string, number> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
  } catch {
    return undefined;
  }
}

// ---- (gang) ----------------------------------------------------------------------------------

/** Direct children of the given processes (their ranks' main processes), from /proc. */
export function childrenOf(parents: ReadonlySet<number>): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => parents.has(procStat(pid)?.ppid ?? -1));
}

/** Supervisors running a rank (native ones, cold Node ones, and warm ones that took a task and its title). */
export function rankSupervisors(root: string): number[] {
  return processesMentioning(root).filter((p) => {
    const c = cmdline(p);
    return (c.includes('supervisor.js') && !c.includes(' --warm ')) || (c.includes('gantry-supervisor') && !c.includes(' --launcher '));
  });
}

export const isNative = (pid: number): boolean => cmdline(pid).includes('gantry-supervisor');

/** The agents' native supervisor launchers (one per agent). */
export function launchers(root: string): number[] {
  return processesMentioning(root).filter((p) => cmdline(p).includes(' --launcher '));
}

/** Idle warm supervisors (runner.warmSupervisors), waiting for a task. */
export function warmSupervisors(root: string): number[] {
  return processesMentioning(root).filter((p) => cmdline(p).includes(' --warm '));
}
