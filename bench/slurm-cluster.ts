/**
 * Slurm, the live peer (DESIGN.md "Performance targets"), as a cluster this machine can run:
 * Debian's slurmctld, one `slurmd -N simNNNN` per simulated node (each its own Port,
 * SlurmdParameters=config_overrides so a 2-core machine may claim 256 nodes of 64 CPUs), GPUs as
 * gres backed by plain files, TopologyPlugin=topology/tree with leaf switches of 32 nodes, spine
 * switches of 4 leaves and one root switch over the spines (n256g8: 8 leaves, 2 spines), and its
 * own munged, all under one temporary directory and stopped at the end. bench/slurm.ts times
 * `srun -N<n> true` on it; bench/slurm-compare-slurm.ts places gangs on it.
 *
 * Nothing here installs anything: findTools() says what is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { portIsFree, stopProcessesMentioning } from '../shared/procs/index.js';
import { sleep } from './parts.js';
import { machineCpuMs } from './suite.js';

export const INSTALL = 'apt-get install -y slurmctld slurmd slurm-client munge';
/** Nodes per leaf switch in topology.conf (the 8-leaf shapes of DESIGN.md use 32). */
export const LEAF_SIZE = 32;
/** Leaf switches per spine switch (n256g8: 2 spines of 4 leaves). */
export const LEAVES_PER_SPINE = 4;
export const GPUS_PER_NODE = 8;
/**
 * CPUs each slurmd claims (config_overrides): enough that CPUs never limit a node's ranks (at most
 * 8 ranks of 1 GPU, plus blockers), so GPUs alone decide, as in Gantry.
 */
export const CPUS_PER_NODE = 64;

/** A program on PATH or in the sbin directories (daemons live in /usr/sbin, often off a user's PATH). */
function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const d of dirs.filter(Boolean)) {
    const p = path.join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface Tools {
  slurmctld: string;
  slurmd: string;
  srun: string;
  sinfo: string;
  scontrol: string;
  munged: string;
  /** mungekey (munge ≥ 0.5.14); undefined where only create-munge-key exists, which writes only /etc/munge/munge.key. */
  mungekey: string | undefined;
}

export function findTools(): { tools?: Tools; missing: string[] } {
  const need = ['slurmctld', 'slurmd', 'srun', 'sinfo', 'scontrol', 'munged'] as const;
  const found = Object.fromEntries(need.map((n) => [n, which(n)])) as Record<(typeof need)[number], string | undefined>;
  const mungekey = which('mungekey');
  const missing: string[] = need.filter((n) => !found[n]);
  if (!mungekey && !which('create-munge-key')) missing.push('mungekey (or create-munge-key)');
  if (missing.length) return { missing };
  return { tools: { ...(found as Record<(typeof need)[number], string>), mungekey }, missing };
}

/**
 * count+1 consecutive free ports (slurmctld, then one per slurmd), below the kernel's ephemeral
 * range so that srun's and the daemons' own outgoing connections cannot take one meanwhile.
 */
export async function freePortRange(count: number): Promise<number> {
  let low = 32768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // keep the Linux default
  }
  const hi = Math.max(10_000 + count + 1, low - count - 2);
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10_000 + Math.floor(Math.random() * (hi - 10_000));
    let ok = true;
    for (let p = base; p <= base + count && ok; p++) ok = await portIsFree(p);
    if (ok) return base;
  }
  throw new Error(`no ${count + 1} consecutive free ports below ${low}`);
}

export const nodeName = (i: number): string => `sim${String(i).padStart(4, '0')}`;
/** sim[0001-0256] style range of nodes first..last (1-based). */
const nodeRange = (first: number, last: number): string => (first === last ? nodeName(first) : `sim[${String(first).padStart(4, '0')}-${String(last).padStart(4, '0')}]`);

/** slurm.conf, topology.conf and gres.conf for n nodes; returns slurm.conf's path. */
function writeConfig(dir: string, n: number, ctldPort: number, gres: boolean): string {
  const d = (p: string): string => path.join(dir, p);
  const lines = [
    'ClusterName=gantrybench',
    'SlurmctldHost=localhost',
    `SlurmctldPort=${ctldPort}`,
    // Running as root (the bench does); no slurm user needed.
    'SlurmUser=root',
    'SlurmdUser=root',
    // Our own munged on its own socket: never the system's /run/munge.
    'AuthType=auth/munge',
    'CredType=cred/munge',
    `AuthInfo=socket=${d('munge.sock')}`,
    `StateSaveLocation=${d('state')}`,
    // %n: each slurmd (several per host) needs its own spool dir, pid file and log.
    `SlurmdSpoolDir=${d('spool/%n')}`,
    `SlurmdPidFile=${d('spool/slurmd-%n.pid')}`,
    `SlurmdLogFile=${d('log/slurmd-%n.log')}`,
    `SlurmctldPidFile=${d('slurmctld.pid')}`,
    `SlurmctldLogFile=${d('log/slurmctld.log')}`,
    'SlurmctldDebug=info',
    'SlurmdDebug=info',
    // Trust the node lines (CPUs, gres) rather than the real 2-core hardware.
    'SlurmdParameters=config_overrides',
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'SelectType=select/cons_tres',
    // Cores (here CPUs) and GPUs are consumable, memory is not (no RealMemory is configured).
    'SelectTypeParameters=CR_Core',
    'SwitchType=switch/none',
    'MpiDefault=none',
    'ReturnToService=2',
    'AccountingStorageType=accounting_storage/none',
    'JobAcctGatherType=jobacct_gather/none',
    'JobCompType=jobcomp/none',
    'TopologyPlugin=topology/tree',
    ...(gres ? ['GresTypes=gpu'] : []),
    // One slurmd per node on loopback, each listening on its own port of the range.
    `NodeName=${nodeRange(1, n)} NodeHostname=localhost NodeAddr=127.0.0.1 Port=[${ctldPort + 1}-${ctldPort + n}] CPUs=${CPUS_PER_NODE}${gres ? ` Gres=gpu:${GPUS_PER_NODE}` : ''} State=UNKNOWN`,
    'PartitionName=bench Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
  ];
  const conf = d('slurm.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const leaves: string[] = [];
  for (let first = 1, leaf = 1; first <= n; first += LEAF_SIZE, leaf++) {
    leaves.push(`SwitchName=leaf${String(leaf).padStart(2, '0')} Nodes=${nodeRange(first, Math.min(n, first + LEAF_SIZE - 1))}`);
  }
  // Spines of LEAVES_PER_SPINE leaves; over several spines one root switch (Gantry's implicit
  // cluster level): without a switch above them all, topology/tree would not span spines.
  const spines: string[] = [];
  for (let first = 1, spine = 1; first <= leaves.length; first += LEAVES_PER_SPINE, spine++) {
    const last = Math.min(leaves.length, first + LEAVES_PER_SPINE - 1);
    const pad = (x: number): string => String(x).padStart(2, '0');
    spines.push(`SwitchName=spine${spine} Switches=${first === last ? `leaf${pad(first)}` : `leaf[${pad(first)}-${pad(last)}]`}`);
  }
  if (spines.length > 1) spines.push(`SwitchName=root Switches=spine[1-${spines.length}]`);
  writeFileSync(d('topology.conf'), `${[...leaves, ...spines].join('\n')}\n`);
  if (gres) {
    // Plain files stand in for /dev/nvidia*: slurmd logs "not a valid character or block
    // device" for each but counts them, which is all an allocation of `srun -N… true` needs.
    mkdirSync(d('gpu'), { recursive: true });
    for (let g = 0; g < GPUS_PER_NODE; g++) writeFileSync(d(`gpu/nvidia${g}`), '');
    writeFileSync(d('gres.conf'), `NodeName=${nodeRange(1, n)} Name=gpu File=${d(`gpu/nvidia[0-${GPUS_PER_NODE - 1}]`)}\n`);
  }
  return conf;
}

/** The last lines of a file, for error messages. */
function tail(file: string, lines = 15): string {
  try {
    return `--- ${path.basename(file)}:\n${readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`;
  } catch {
    return `--- ${path.basename(file)}: (none)`;
  }
}

/** Node name → state (idle, alloc, comp, idle*, down*, unk* …) from sinfo. */
function nodeStates(tools: Tools, env: NodeJS.ProcessEnv): Map<string, string> {
  const r = spawnSync(tools.sinfo, ['-h', '-N', '-o', '%N %t'], { env, encoding: 'utf8', timeout: 20_000 });
  const m = new Map<string, string>();
  for (const line of (r.stdout ?? '').split('\n')) {
    const [name, state] = line.trim().split(/\s+/);
    if (name && state) m.set(name, state);
  }
  return m;
}

export class Cluster {
  readonly children: ChildProcess[] = [];
  private readonly names = new Map<ChildProcess, string>();
  readonly env: NodeJS.ProcessEnv;
  readonly conf: string;
  constructor(
    readonly dir: string,
    readonly tools: Tools,
    readonly nodes: number,
    ctldPort: number,
    readonly gres: boolean,
  ) {
    for (const sub of ['state', 'log', 'spool']) mkdirSync(path.join(dir, sub), { recursive: true });
    // slurmd does not create its %n spool dir (it logs "Domain socket directory … No such file").
    for (let i = 1; i <= nodes; i++) mkdirSync(path.join(dir, 'spool', nodeName(i)));
    this.conf = writeConfig(dir, nodes, ctldPort, gres);
    // Every Slurm program (daemons, srun, sinfo) reads this; the system's /etc/slurm is never used.
    this.env = { ...process.env, SLURM_CONF: this.conf };
  }

  /** A daemon in the foreground, in its own process group, output to log/<name>.out. */
  private start(name: string, cmd: string, args: string[]): ChildProcess {
    const fd = openSync(path.join(this.dir, 'log', `${name}.out`), 'a');
    const child = spawn(cmd, args, { env: this.env, stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    child.on('error', () => undefined);
    this.children.push(child);
    this.names.set(child, name);
    return child;
  }

  logTails(extra: string[] = []): string {
    return [tail(path.join(this.dir, 'log', 'munged.log')), tail(path.join(this.dir, 'log', 'slurmctld.log')), tail(path.join(this.dir, 'log', 'slurmctld.out'), 5), ...extra].join('\n');
  }

  /** munged, slurmctld, then every slurmd; resolves with the ms from the first slurmd spawn to all idle. */
  async up(log: (l: string) => void): Promise<number> {
    const key = path.join(this.dir, 'munge.key');
    if (this.tools.mungekey) spawnSync(this.tools.mungekey, ['--create', `--keyfile=${key}`], { stdio: 'ignore' });
    // create-munge-key cannot write elsewhere than /etc/munge; a key is just random bytes.
    if (!existsSync(key)) writeFileSync(key, randomBytes(128));
    chmodSync(key, 0o600);
    const sock = path.join(this.dir, 'munge.sock');
    // --force: munged refuses a socket dir it does not like (root-owned temp dirs under /tmp).
    this.start('munged', this.tools.munged, ['-F', '--force', `--socket=${sock}`, `--key-file=${key}`, `--pid-file=${path.join(this.dir, 'munged.pid')}`, `--log-file=${path.join(this.dir, 'log', 'munged.log')}`, `--seed-file=${path.join(this.dir, 'munged.seed')}`]);
    for (const until = Date.now() + 10_000; !existsSync(sock); await sleep(50)) if (Date.now() > until) throw new Error(`munged did not create its socket\n${this.logTails()}`);
    // -f as well as SLURM_CONF so that the daemons' command lines name the temp dir
    // (stopProcessesMentioning finds them by it); -c: a clean start, no saved state.
    this.start('slurmctld', this.tools.slurmctld, ['-D', '-c', '-f', this.conf]);
    for (const until = Date.now() + 30_000; spawnSync(this.tools.scontrol, ['ping'], { env: this.env, encoding: 'utf8' }).stdout?.includes('UP') !== true; await sleep(200)) {
      if (Date.now() > until) throw new Error(`slurmctld did not answer scontrol ping within 30 s\n${this.logTails()}`);
    }
    const t0 = performance.now();
    for (let i = 1; i <= this.nodes; i++) {
      this.start(`slurmd-${nodeName(i)}`, this.tools.slurmd, ['-D', '-N', nodeName(i), '-f', this.conf]);
      // A short breath every 16 spawns, so 2 cores are not asked to boot 256 daemons at once.
      if (i % 16 === 0) await sleep(100);
    }
    const timeoutMs = Math.max(60_000, this.nodes * 500);
    let idle = 0;
    for (const until = Date.now() + timeoutMs; ; await sleep(500)) {
      const states = nodeStates(this.tools, this.env);
      idle = [...states.values()].filter((s) => s === 'idle').length;
      if (idle === this.nodes) break;
      // A daemon that exited will not come back: say which at once rather than at the timeout.
      const dead = this.children.find((c) => c.exitCode !== null || c.signalCode !== null);
      if (dead) {
        const name = this.names.get(dead) ?? '?';
        throw new Error(`${name} exited (${dead.exitCode ?? dead.signalCode}) while ${idle} of ${this.nodes} nodes were idle\n${this.logTails([tail(path.join(this.dir, 'log', `${name}.log`)), tail(path.join(this.dir, 'log', `${name}.out`), 5)])}`);
      }
      if (Date.now() > until) {
        const stuck = [...states].find(([, s]) => s !== 'idle')?.[0] ?? nodeName(1);
        throw new Error(`only ${idle} of ${this.nodes} slurmd idle after ${timeoutMs / 1000} s (${stuck}: ${states.get(stuck) ?? 'not listed'})\n${this.logTails([tail(path.join(this.dir, 'log', `slurmd-${stuck}.log`)), tail(path.join(this.dir, 'log', `slurmd-${stuck}.out`), 5)])}`);
      }
    }
    const ms = performance.now() - t0;
    log(`slurm: ${this.nodes} slurmd idle after ${(ms / 1000).toFixed(1)} s`);
    return ms;
  }

  /** Until every node is idle again (after a job, nodes stay "comp" until each slurmd reports its epilog done). */
  async settle(timeoutMs = 60_000): Promise<void> {
    for (const until = Date.now() + timeoutMs; ; await sleep(100)) {
      const states = [...nodeStates(this.tools, this.env).values()];
      if (states.length === this.nodes && states.every((s) => s === 'idle')) return;
      if (Date.now() > until) throw new Error(`nodes not idle ${timeoutMs / 1000} s after the last srun\n${this.logTails()}`);
    }
  }

  /** One `srun -N<n> true`: wall ms from spawn to exit, and the machine's busy CPU ms meanwhile. */
  async srun(n: number): Promise<{ wallMs: number; machineCpuMs: number }> {
    const cpu0 = machineCpuMs().busy;
    const t0 = performance.now();
    const child = spawn(this.tools.srun, [`-N${n}`, 'true'], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const code = await new Promise<number | string>((resolve) => child.once('close', (c, s) => resolve(c ?? s ?? 'unknown')));
    const wallMs = performance.now() - t0;
    const cpuMs = machineCpuMs().busy - cpu0;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`srun -N${n} true exited ${code}: ${out.slice(-2000)}\n${this.logTails()}`);
    return { wallMs, machineCpuMs: cpuMs };
  }

  /** scontrol show config's value for a key (to record the defaults the figures were taken under). */
  config(key: string): string | undefined {
    const out = spawnSync(this.tools.scontrol, ['show', 'config'], { env: this.env, encoding: 'utf8' }).stdout ?? '';
    return new RegExp(`^${key}\\s*=\\s*(.*)$`, 'm').exec(out)?.[1]?.trim();
  }

  /**
   * Stops everything: SIGTERM to each daemon's process group, then every process whose command
   * line names the temp dir (SIGTERM, wait, SIGKILL), then SIGKILL to what is left of the groups
   * and to any slurmstepd or srun whose environment carries our SLURM_CONF (a step's slurmstepd
   * daemonizes out of slurmd's group and its command line names only the step).
   */
  async down(): Promise<void> {
    const signalGroups = (sig: NodeJS.Signals): void => {
      for (const c of this.children) {
        if (c.pid && c.exitCode === null && c.signalCode === null) {
          try {
            process.kill(-c.pid, sig);
          } catch {
            // gone
          }
        }
      }
    };
    signalGroups('SIGTERM');
    await stopProcessesMentioning(this.dir, 5000, 5000);
    signalGroups('SIGKILL');
    for (const pid of this.byEnvironment()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const until = Date.now() + 5000; this.children.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < until; ) await sleep(50);
  }

  private byEnvironment(): number[] {
    const pids: number[] = [];
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
      try {
        if (readFileSync(`/proc/${e}/environ`, 'utf8').includes(`SLURM_CONF=${this.conf}`)) pids.push(Number(e));
      } catch {
        // gone, or not ours to read
      }
    }
    return pids;
  }
}
