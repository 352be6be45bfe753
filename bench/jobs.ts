/**
 * Jobs from submit to finish, on real parts (issue 5's closing figures):
 *   (gang)    submit → every rank running, for a G-rank gang (8 GPUs per rank, one rank per
 *             node) on G simulated agents: the scheduler a real child process on a real LMDB
 *             dir, the agents real daemons hosted many per fleet process (bench/fleet.ts), each
 *             rank under the real TaskRunner and its per-rank supervisor process; broken into
 *             phases from the scheduler's log and the runner's task records;
 *             (with the agents' default warm supervisor pools, runner.warmSupervisors, full
 *             and the machine quiet before each gang);
 *   (light)   N supervisors started at once: the production one spawned cold (node
 *             supervisor.js), with lean V8 flags, a POSIX sh prototype, and N warm ones
 *             (booted beforehand) handed their task over IPC;
 *   (restart) scheduler process start → serving gRPC with S stored jobs loaded;
 *   (submit)  SubmitJob accepted per second over gRPC from concurrent clients (jobs valid but
 *             pending: every node cordoned), with p50/p99 latency.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gantryEntry, packageRoot, processesMentioning, stopProcessesMentioning } from '../shared/procs/index.js';
import { schedulerClient, unaryCall } from '../shared/cli/client.js';
import type { ListNodesResponse__Output, PbJobOut } from '../shared/proto/index.js';
import type { JobRecord, JobState, RankRecord } from '../shared/domain/index.js';
import { parseJobSpec } from '../shared/jobspec/index.js';
import { LmdbStore } from '../scheduler/store/index.js';
import { agentConfigSchema } from '../agent/config.js';
import type { FleetPlan } from './fleet.js';
import { call, H100_TOPO, H100_XML, memAvailableBytes, memoryOf, round, sleep, startScheduler, uuidFor, type Sched } from './parts.js';
import { machineCpuMs, percentile, procStat, processCpuMs, type BenchOptions, type BenchRow, type BenchSuite, type SuiteResult } from './suite.js';

const ROOT = packageRoot();
const FLEET = path.join(ROOT, 'dist', 'bench', 'fleet.js');
const SUPERVISOR = path.join(ROOT, 'dist', 'agent', 'runner', 'supervisor.js');
/** The native supervisor; the agents use it (runner.supervisor 'auto') when it was built. */
const NATIVE_SUPERVISOR = path.join(ROOT, 'dist', 'agent', 'runner', 'gantry-supervisor');
/** Agents per fleet process. */
const PER_FLEET = 128;
/**
 * Memory per supervisor (a rank's, or an idle warm one), for the "does it fit" check: measured
 * ≈ 7.3 MiB PSS each with 256 of each kind side by side.
 */
const RANK_BUDGET_BYTES = 9 * 2 ** 20;
/** Memory per fleet process (128 agents), for the same check: measured ≈ 150 MiB PSS. */
const FLEET_BUDGET_BYTES = 200 * 2 ** 20;
/** Idle warm supervisors per agent: the agent's default (runner.warmSupervisors), none with the native supervisor. */
const WARM_PER_AGENT = existsSync(NATIVE_SUPERVISOR) ? 0 : agentConfigSchema.parse({}).runner.warmSupervisors;
/** Keep the whole benchmark under this (the machine is shared). */
const MEMORY_CAP_BYTES = 10 * 2 ** 30;

/**
 * The file system a path is on: its type, from /proc/self/mounts (the longest mount point that
 * holds it), with "no journal" for an ext4 mounted without one, where creating files right after
 * many were deleted is slow (the kernel skips recently freed inodes one by one: recently_deleted).
 */
function fsTypeOf(p: string): string {
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
export async function startFleet(root: string, scheduler: string, count: number, prefix: string, log: (l: string) => void, stateRoot = root, topologyOf: (i: number) => Record<string, string> = (i) => ({ leaf: `leaf-${Math.floor(i / 32)}`, spine: `spine-${Math.floor(i / 256)}` })): Promise<Fleet> {
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
    plans[f] ??= { scheduler, agents: [], startConcurrency: 16 };
    plans[f]!.agents.push({ name, stateDir, nvidiaSmi: smi, topology: topologyOf(i) });
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

function readRecord(file: string): Record<string, number> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
  } catch {
    return undefined;
  }
}

// ---- (gang) ----------------------------------------------------------------------------------

interface GangResult {
  ranks: number;
  submitToRunningMs: number;
  /** Wall-clock (Unix ms) submit and all-running, to cut a profile (perf record -k realtime, --cpu-prof) to the gang. */
  window: { submitUnixMs: number; runningUnixMs: number };
  phases: Record<string, number>;
  /** CPU time from submit to all running, by kind of process (ms). */
  cpuMs: Record<string, number>;
  supervisorMemory: { processes: number; pssMiB: number; privateMiB: number; rssMiB: number };
  /** Idle warm supervisors at the time (refilled after the gang's starts went quiet). */
  warmPoolMemory: { processes: number; pssMiB: number };
  fleetMemory: { processes: number; pssMiB: number };
  schedulerMemory: { pssMiB: number };
}

async function runGang(s: Sched, fleet: Fleet, root: string, ranks: number, log: (l: string) => void): Promise<GangResult> {
  const spec = JSON.stringify({ kind: 'Training', name: `gang-${ranks}`, ranks, gpusPerRank: 8, command: ['sleep', '900'], maxRetries: 0, preemptGraceSeconds: 1 });
  const warmBefore = warmSupervisors(root);
  const launchersBefore = new Map(launchers(root).map((p) => [p, processCpuMs(p) || 0]));
  const cpuBefore = {
    machine: machineCpuMs(),
    scheduler: processCpuMs(s.child.proc.pid),
    fleet: fleet.children.reduce((a, c) => a + (processCpuMs(c.pid) || 0), 0),
  };
  const supervisorCpuBefore = new Map(warmBefore.map((p) => [p, processCpuMs(p) || 0]));
  // Waits on the job's events (WatchEvents), not by polling GetJob: a 512-rank job's record
  // encoded every 50 ms cost the scheduler ≈ 0.7 s of CPU during the very start it measured.
  const settled = new Map<string, string>();
  let onSettled: (() => void) | undefined;
  const watch = s.client.WatchEvents({ kind: 'job' }) as unknown as { on(e: string, f: (x: never) => void): void; cancel(): void };
  watch.on('data', (ev: { json: string }) => {
    const e = JSON.parse(ev.json) as { job?: string; type?: string };
    if (e.job && ['running', 'failed', 'cancelled', 'succeeded'].includes(e.type ?? '')) {
      settled.set(e.job, e.type!);
      onSettled?.();
    }
  });
  watch.on('error', () => undefined);
  await sleep(200); // the stream is open before the submit
  const submitAt = Date.now();
  const submitted = await call<PbJobOut>(s, 'SubmitJob', { spec, owner: 'bench' });
  const acceptedAt = Date.now();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gang ${ranks}: no running event after 300 s`)), 300_000);
    onSettled = () => {
      if (!settled.has(submitted.id)) return;
      clearTimeout(timer);
      resolve();
    };
    onSettled();
  });
  // The machine's CPU now, before this benchmark reads records and /proc for the figures below.
  const machineAfter = machineCpuMs();
  watch.cancel();
  const job = await call<PbJobOut>(s, 'GetJob', { id: submitted.id });
  if (job.state !== 'running') throw new Error(`gang ${ranks}: ${job.state}: ${job.message}`);
  const runningAt = Number(job.startedUnixMs);
  // Where the time went: the scheduler's log (placed = committed), then each rank's task records.
  const placedLine = s.child
    .output()
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    })
    .find((l) => l?.job === job.id && (l.state === 'starting' || l.event === 'placed'));
  const placedAt = Number(placedLine?.time ?? NaN);
  const received: number[] = [];
  const launched: number[] = [];
  const started: number[] = [];
  let warmStarts = 0;
  let nativeStarts = 0;
  for (const r of job.ranks) {
    const dir = path.join(fleet.stateDirOf.get(r.node)!, 'tasks', job.id, String(r.rank), String(job.epoch));
    received.push(readRecord(path.join(dir, 'spec.json'))?.createdMs ?? NaN);
    const launch = readRecord(path.join(dir, 'launch.json'));
    launched.push(launch?.launchedMs ?? NaN);
    if ((launch as { warm?: boolean } | undefined)?.warm === true) warmStarts++;
    if ((launch as { native?: boolean } | undefined)?.native === true) nativeStarts++;
    started.push(readRecord(path.join(dir, 'status.json'))?.startedMs ?? NaN);
  }
  const max = (xs: number[]): number => Math.max(...xs);
  const min = (xs: number[]): number => Math.min(...xs);
  const sup = rankSupervisors(root);
  // CPU spent from submit to now (the gang runs; sleep ranks use none), by kind of process. The
  // supervisors counted are the warm ones idle before the submit (each took a rank; refills
  // spawned since are not counted: the pool refills after runner.warmRefillDelayMs), or native
  // ones, all born since the submit, and the agents' native launchers.
  const supSet = new Set(sup);
  const rankPids = childrenOf(supSet);
  const cpu = {
    machine: machineAfter.busy - cpuBefore.machine.busy,
    steal: machineAfter.steal - cpuBefore.machine.steal,
    scheduler: processCpuMs(s.child.proc.pid) - cpuBefore.scheduler,
    fleet: fleet.children.reduce((a, c) => a + (processCpuMs(c.pid) || 0), 0) - cpuBefore.fleet,
    supervisors: sup.filter((p) => supervisorCpuBefore.has(p) || isNative(p)).reduce((a, p) => a + (processCpuMs(p) || 0) - (supervisorCpuBefore.get(p) ?? 0), 0),
    launchers: [...launchersBefore].reduce((a, [p, before]) => a + (processCpuMs(p) || 0) - before, 0),
    ranks: rankPids.reduce((a, p) => a + (processCpuMs(p) || 0), 0),
  };
  const warmMem = memoryOf(warmSupervisors(root));
  const supMem = memoryOf(sup);
  const fleetMem = memoryOf(fleet.children.map((c) => c.pid!).filter(Boolean));
  const schedMem = memoryOf(s.child.proc.pid ? [s.child.proc.pid] : []);
  const MiB = 2 ** 20;
  const phases = {
    'submit → accepted (SubmitJob answered)': acceptedAt - submitAt,
    'submit → placed and committed': placedAt - submitAt,
    'placed → first StartTask received by an agent': min(received) - placedAt,
    'placed → last StartTask received': max(received) - placedAt,
    'last StartTask received → last supervisor spawned or handed its task': max(launched) - max(received),
    'first StartTask received → last supervisor spawned or handed its task': max(launched) - min(received),
    'last supervisor spawned or handed its task → last rank process started': max(started) - max(launched),
    'last rank started → scheduler has all running': runningAt - max(started),
    'median per rank: StartTask received → rank started': percentile(started.map((x, i) => x - received[i]!), 50),
    'ranks started by a warm supervisor': warmStarts,
    'ranks started by a native supervisor': nativeStarts,
  };
  const cpuTable = {
    'scheduler CPU': cpu.scheduler,
    'fleet processes CPU (agents)': cpu.fleet,
    'rank supervisors CPU': cpu.supervisors,
    'native launchers CPU': cpu.launchers,
    'rank processes CPU': cpu.ranks,
    'CPU per rank, all': round((cpu.scheduler + cpu.fleet + cpu.supervisors + cpu.launchers + cpu.ranks) / ranks, 2),
    // Per-process CPU is read in 10 ms ticks, truncated per process: a native supervisor's ~1 ms
    // reads as 0. The machine's total (the benchmark's own process mostly waits) counts it all.
    'whole machine CPU': cpu.machine,
    'whole machine CPU per rank': round(cpu.machine / ranks, 2),
    // What the two daemons' processes did not use: supervisors and ranks (fork, exec, their
    // writes), the launchers, the kernel's loopback networking, and the benchmark's own process.
    'whole machine less scheduler and fleet': cpu.machine - cpu.scheduler - cpu.fleet,
    'stolen by the host (steal)': cpu.steal,
  };
  log(`  gang ${ranks}: ${runningAt - submitAt} ms; ${Object.entries(phases).map(([k, v]) => `${k} ${v}`).join('; ')}`);
  log(`  gang ${ranks} CPU (ms): ${Object.entries(cpuTable).map(([k, v]) => `${k} ${v}`).join('; ')}`);
  const result: GangResult = {
    ranks,
    submitToRunningMs: runningAt - submitAt,
    window: { submitUnixMs: submitAt, runningUnixMs: runningAt },
    phases,
    cpuMs: cpuTable,
    supervisorMemory: { processes: sup.length, pssMiB: round(supMem.pss / MiB), privateMiB: round(supMem.private / MiB), rssMiB: round(supMem.rss / MiB) },
    warmPoolMemory: { processes: warmSupervisors(root).length, pssMiB: round(warmMem.pss / MiB) },
    fleetMemory: { processes: fleet.children.length, pssMiB: round(fleetMem.pss / MiB) },
    schedulerMemory: { pssMiB: round(schedMem.pss / MiB) },
  };
  await call(s, 'CancelJob', { id: job.id, reason: 'benchmark done' });
  // Every rank's supervisor gone before the next gang (the stop is SIGTERM, 1 s grace).
  const deadline = Date.now() + 60_000;
  while (rankSupervisors(root).length > 0) {
    if (Date.now() > deadline) {
      for (const p of rankSupervisors(root)) process.kill(p, 'SIGKILL');
      break;
    }
    await sleep(100);
  }
  await sleep(500);
  return result;
}

/** Direct children of the given processes (their ranks' main processes), from /proc. */
function childrenOf(parents: ReadonlySet<number>): number[] {
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

const isNative = (pid: number): boolean => cmdline(pid).includes('gantry-supervisor');

/** The agents' native supervisor launchers (one per agent). */
function launchers(root: string): number[] {
  return processesMentioning(root).filter((p) => cmdline(p).includes(' --launcher '));
}

/** Idle warm supervisors (runner.warmSupervisors), waiting for a task. */
function warmSupervisors(root: string): number[] {
  return processesMentioning(root).filter((p) => cmdline(p).includes(' --warm '));
}

/**
 * Waits until every agent's warm pool is full (runner.warmSupervisors each) and the machine is
 * quiet again (the fleet and its supervisors use under 10% of a core over half a second), so a
 * gang starts from the state an idle cluster is in.
 */
async function waitWarmPools(root: string, fleet: Fleet, want: number, log: (l: string) => void): Promise<void> {
  const t0 = Date.now();
  const deadline = t0 + 180_000;
  while (warmSupervisors(root).length < want && Date.now() < deadline) await sleep(200);
  let last = Infinity;
  for (;;) {
    const pids = [...fleet.children.map((c) => c.pid ?? 0), ...processesMentioning(root)];
    const cpu = pids.reduce((a, p) => a + (processCpuMs(p) || 0), 0);
    if ((last !== Infinity && cpu - last < 50) || Date.now() > deadline) break;
    last = cpu;
    await sleep(500);
  }
  log(`  warm pools: ${warmSupervisors(root).length} idle Node supervisors (want ${want}), quiet after ${Date.now() - t0} ms`);
}

// ---- (light) ---------------------------------------------------------------------------------

/** A POSIX sh rank supervisor prototype: writes status.json as the real one does, then waits for the rank. */
const SH_SUPERVISOR = `#!/bin/sh
# prototype only: $1 = task dir; runs "sleep 120" in its own process group, records status and exit.
d="$1"
set -m
sleep 120 >"$d/log" 2>&1 &
pid=$!
now=$(date +%s%3N)
printf '{"version":1,"supervisorPid":%s,"pid":%s,"pgid":%s,"startedMs":%s}' $$ $pid $pid $now >"$d/status.tmp" && mv "$d/status.tmp" "$d/status.json"
trap 'kill -TERM -$pid 2>/dev/null' TERM
wait $pid
code=$?
printf '{"version":1,"writer":"supervisor","failedToStart":false,"code":%s,"signal":null,"finishedMs":%s,"message":"exited"}' $code $(date +%s%3N) >"$d/exit.json"
`;

/** Node flags that trim start-up work (no V8 worker threads, a small young generation). */
const LEAN_NODE_FLAGS = ['--single-threaded', '--v8-pool-size=0', '--max-semi-space-size=1'];

/**
 * Spawns n supervisors at once, as n runners would, and times until every rank has started. 'warm'
 * boots n warm supervisors first (as n agents' pools would be, untimed), waits until they are
 * ready and the machine is quiet, then hands each its task over IPC at once.
 */
async function spawnSupervisors(root: string, kind: 'node' | 'node-lean' | 'sh' | 'warm' | 'native', n: number): Promise<{ spawnLoopMs: number; allStartedMs: number; p50Ms: number }> {
  const base = path.join(root, `light-${kind}`);
  const script = path.join(root, 'sh-supervisor');
  writeFileSync(script, SH_SUPERVISOR, { mode: 0o755 });
  const dirs: string[] = [];
  for (let i = 0; i < n; i++) {
    const dir = path.join(base, 'tasks', 'light-1', String(i), '1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'spec.json'),
      JSON.stringify({ version: 1, jobId: 'light-1', rank: i, epoch: 1, command: ['sleep', '120'], env: { PATH: process.env.PATH }, workdir: '/', runAs: '', user: null, graceSeconds: 1, logMaxBytes: 1 << 20, logKeep: 1, createdMs: Date.now() }),
    );
    dirs.push(dir);
  }
  const warm: ChildProcess[] = [];
  if (kind === 'warm') {
    let ready = 0;
    for (let i = 0; i < n; i++) {
      const c = spawn(process.execPath, [SUPERVISOR, '--warm', path.join(base, 'tasks'), ' '.repeat(200)], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'], cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
      c.on('error', () => undefined);
      c.once('message', () => ready++);
      warm.push(c);
    }
    const deadline = Date.now() + 120_000;
    while (ready < n && Date.now() < deadline) await sleep(50);
    await sleep(1000);
  }
  // The native supervisor's launcher, as a runner spawns it (booted beforehand, like the warm pool).
  let launcher: ChildProcess | undefined;
  if (kind === 'native') {
    launcher = spawn(NATIVE_SUPERVISOR, ['--launcher', path.join(base, 'tasks'), ' '.repeat(512)], { detached: true, stdio: ['pipe', 'ignore', 'ignore'], cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    launcher.on('error', () => undefined);
    await sleep(500);
  }
  const t0 = Date.now();
  const p0 = performance.now();
  if (launcher) launcher.stdin!.write(dirs.map((dir, i) => `${i} ${dir}\n`).join(''));
  for (const [i, dir] of dirs.entries()) {
    if (kind === 'native') break;
    if (kind === 'warm') {
      warm[i]!.send({ op: 'run', dir });
      continue;
    }
    const [cmd, ...argv] = kind === 'sh' ? [script, dir] : kind === 'node' ? [process.execPath, SUPERVISOR, dir] : [process.execPath, ...LEAN_NODE_FLAGS, SUPERVISOR, dir];
    const c = spawn(cmd!, argv, { detached: true, stdio: 'ignore', cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    c.on('error', () => undefined);
    c.unref();
  }
  const spawnLoopMs = performance.now() - p0;
  const startedAt: number[] = [];
  const deadline = Date.now() + 120_000;
  const pending = new Set(dirs);
  while (pending.size > 0 && Date.now() < deadline) {
    for (const dir of [...pending]) {
      const st = readRecord(path.join(dir, 'status.json'));
      if (st) {
        startedAt.push(st.startedMs!);
        pending.delete(dir);
      }
    }
    if (pending.size) await sleep(20);
  }
  launcher?.stdin!.end();
  await stopProcessesMentioning(base);
  // The ranks ("sleep 120") run in their own process groups, recorded in status.json.
  for (const dir of dirs) {
    const st = readRecord(path.join(dir, 'status.json'));
    if (st?.pgid) {
      try {
        process.kill(-st.pgid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  if (pending.size) throw new Error(`${pending.size} of ${n} ${kind} supervisors never started their rank`);
  return { spawnLoopMs: round(spawnLoopMs), allStartedMs: Math.max(...startedAt) - t0, p50Ms: percentile(startedAt.map((x) => x - t0), 50) };
}

// ---- (restart) -------------------------------------------------------------------------------

export function prefill(dataDir: string, count: number): Promise<{ states: Record<string, number>; ms: number }> {
  const t0 = performance.now();
  const store = LmdbStore.open(dataDir);
  const specs = [1, 2, 4, 8, 16].map((ranks) =>
    parseJobSpec(JSON.stringify({ kind: 'Training', name: `train-${ranks}`, ranks, gpusPerRank: 8, command: ['python', 'train.py', '--config', 'configs/run.yaml'], env: { NCCL_DEBUG: 'WARN' }, maxRetries: 3 })),
  );
  const states: Record<string, number> = {};
  const base = Date.UTC(2026, 0, 1);
  const pick = (i: number): JobState => {
    const r = (i * 7919) % 1000; // spread deterministically
    if (r < 780) return 'succeeded';
    if (r < 860) return 'failed';
    if (r < 930) return 'cancelled';
    if (r < 980) return 'pending';
    if (r < 990) return 'requeued';
    return 'running';
  };
  const uuids = new Map<number, string[]>();
  const uuidsOf = (n: number): string[] => {
    let u = uuids.get(n);
    if (!u) uuids.set(n, (u = Array.from({ length: 8 }, (_, g) => uuidFor(`node-${String(n).padStart(4, '0')}`, g))));
    return u;
  };
  const batches: Promise<void>[] = [];
  let batch: JobRecord[] = [];
  for (let i = 1; i <= count; i++) {
    const spec = specs[i % specs.length]!;
    const state = pick(i);
    states[state] = (states[state] ?? 0) + 1;
    const placed = state !== 'pending';
    const ranks: RankRecord[] = placed
      ? Array.from({ length: spec.ranks }, (_, r) => ({
          rank: r,
          unit: 0,
          node: `node-${String((i * 16 + r) % 4096).padStart(4, '0')}`,
          gpus: [0, 1, 2, 3, 4, 5, 6, 7],
          gpuUuids: uuidsOf((i * 16 + r) % 4096),
          topologyAddress: `spine-${r % 2}.leaf-${r % 16}.node-${String((i * 16 + r) % 4096).padStart(4, '0')}`,
          state: state === 'running' ? 'running' : 'exited',
          exitCode: state === 'running' ? null : state === 'failed' ? 1 : 0,
          signal: state === 'cancelled' ? 'SIGTERM' : null,
        }))
      : [];
    const submitted = base + i * 1000;
    batch.push({
      id: `${spec.name}-${i}`,
      spec,
      owner: `user-${i % 50}`,
      state,
      message: state === 'failed' ? 'rank 0 on node-0001 exited with code 1; no retries left (3)' : state === 'pending' ? 'waiting for the next scheduling cycle' : `all ${spec.ranks} ranks exited 0`,
      attempt: state === 'requeued' ? 1 : 0,
      epoch: placed ? 1 : 0,
      submittedMs: submitted,
      updatedMs: submitted + 600_000,
      startedMs: placed ? submitted + 5_000 : 0,
      finishedMs: ['succeeded', 'failed', 'cancelled'].includes(state) ? submitted + 600_000 : 0,
      requeueAtMs: state === 'requeued' ? base + count * 1000 + 3_600_000 : 0,
      ranks,
      masterPort: placed ? 29500 + (i % 500) : 0,
    });
    if (batch.length === 5000) {
      batches.push(store.commit({ jobs: batch }));
      batch = [];
    }
  }
  if (batch.length) batches.push(store.commit({ jobs: batch }));
  return Promise.all(batches)
    .then(() => store.close())
    .then(() => ({ states, ms: round(performance.now() - t0) }));
}

async function timeRestart(dataDir: string, probeId: string): Promise<{ runningLogMs: number; servingMs: number; cpuMsToServing: number; jobsLoaded: number }> {
  const s = await startScheduler(dataDir, { waitMs: 120_000 });
  try {
    const runningLogMs = Number(s.runningLog.time) - s.spawnedAt;
    // Serving: the first GetJob of a stored job answered (connects as soon as the port listens).
    for (;;) {
      try {
        await call(s, 'GetJob', { id: probeId }, 5000);
        break;
      } catch (e) {
        if (Date.now() - s.spawnedAt > 120_000) throw e;
        await sleep(5);
      }
    }
    const servingMs = Date.now() - s.spawnedAt;
    // CPU the scheduler used until then: less sensitive than wall time to a busy machine.
    const cpuMsToServing = processCpuMs(s.child.proc.pid);
    return { runningLogMs, servingMs, cpuMsToServing, jobsLoaded: Number(s.runningLog.jobsLoaded) };
  } finally {
    await s.stop();
  }
}

// ---- (submit) --------------------------------------------------------------------------------

async function submitRate(s: Sched, total: number, clients: number): Promise<{ accepted: number; refused: number; perSecond: number; p50Ms: number; p99Ms: number; wallMs: number }> {
  const chans = Array.from({ length: clients }, () => schedulerClient(s.address));
  const lat: number[] = [];
  let next = 0;
  let refused = 0;
  const t0 = performance.now();
  await Promise.all(
    chans.map(async (client) => {
      while (next < total) {
        const i = next++;
        const spec = JSON.stringify({ kind: 'Training', name: `sub-${i % 100}`, ranks: 1 + (i % 4), gpusPerRank: 1 + (i % 8), command: ['python', 'train.py'], queue: 'default', priority: 100 });
        const a = performance.now();
        try {
          await unaryCall(client, client.SubmitJob as never, { spec, owner: 'bench' }, 30_000);
          lat.push(performance.now() - a);
        } catch {
          refused++;
        }
      }
    }),
  );
  const wallMs = performance.now() - t0;
  for (const c of chans) c.close();
  return { accepted: lat.length, refused, perSecond: round(lat.length / (wallMs / 1000)), p50Ms: round(percentile(lat, 50), 2), p99Ms: round(percentile(lat, 99), 2), wallMs: round(wallMs) };
}

// ---- the suite -------------------------------------------------------------------------------

export interface JobsParams {
  /** Gang sizes (ranks = simulated agents used), ascending. */
  gangs: number[];
  storedJobs: number;
  submits: number;
  clients: number;
  /** Supervisors spawned at once for the lighter-supervisor comparison (0: skip). */
  lightN: number;
  /** Where the gang's agents keep their state (task dirs), when not under the benchmark's temporary dir: --agent-state DIR. */
  agentState: string | undefined;
}

export function jobsParams(opts: BenchOptions): JobsParams {
  const p = opts.params;
  const nums = (v: string | undefined, d: number[]): number[] => (v ? v.split(',').map((x) => Number(x.trim())).filter((x) => Number.isInteger(x) && x > 0) : d);
  const num = (v: string | undefined, d: number): number => (v !== undefined && Number.isInteger(Number(v)) && Number(v) >= 0 ? Number(v) : d);
  return {
    gangs: nums(p.agents, opts.quick ? [64] : [64, 256]).sort((a, b) => a - b),
    storedJobs: num(p['stored-jobs'], opts.quick ? 10_000 : 100_000),
    submits: num(p.submits, opts.quick ? 1000 : 4000),
    clients: num(p.clients, 16),
    lightN: num(p['light-n'], opts.quick ? 64 : 256),
    agentState: p['agent-state'] || undefined,
  };
}

async function run(opts: BenchOptions): Promise<SuiteResult> {
  const params = jobsParams(opts);
  const rows: BenchRow[] = [];
  const details: Record<string, unknown> = { params };
  const root = mkdtempSync(path.join(os.tmpdir(), 'gantry-bench-jobs-'));
  // Every process this benchmark starts names a path containing this (its own temporary dir's name).
  const marker = path.basename(root);
  const stateRoot = params.agentState ? mkdtempSync(path.join(path.resolve(params.agentState), `${marker}-`)) : root;
  const stateFs = fsTypeOf(stateRoot);
  const want = (label: string): boolean => opts.only.length === 0 || opts.only.some((o) => label.startsWith(o));
  if (!existsSync(FLEET) || !existsSync(gantryEntry())) throw new Error('build first: npx tsc -p tsconfig.json');
  try {
    // (gang)
    if (want('(gang)')) {
      const available = memAvailableBytes();
      const budget = Math.min(MEMORY_CAP_BYTES, available - 4 * 2 ** 30);
      // Every agent of the largest gang holds its warm pool too (idle supervisors, refilled after each gang).
      const agentsFor = Math.max(0, ...params.gangs);
      const gangs = params.gangs.filter((g) => (g + agentsFor * WARM_PER_AGENT) * RANK_BUDGET_BYTES + Math.ceil(agentsFor / PER_FLEET) * FLEET_BUDGET_BYTES <= budget);
      const skipped = params.gangs.filter((g) => !gangs.includes(g));
      if (skipped.length) opts.log(`  skipping gangs ${skipped.join(', ')}: not enough memory (${round(available / 2 ** 30, 1)} GiB available, cap ${MEMORY_CAP_BYTES / 2 ** 30} GiB)`);
      const agents = Math.max(0, ...gangs);
      if (stateFs === 'ext4, no journal') {
        opts.log(`  note: the agents' task dirs are on an ext4 without a journal (${stateRoot}): there, creating files within minutes of deleting many (an earlier run's) is slow, and repeated runs slow down; --agent-state DIR puts them elsewhere`);
      }
      const results: GangResult[] = [];
      if (agents > 0) {
        const s = await startScheduler(path.join(root, 'sched-gang'));
        let fleet: Fleet | undefined;
        try {
          const t0 = Date.now();
          fleet = await startFleet(root, s.address, agents, 'sim', opts.log, stateRoot);
          await waitNodesReady(s, agents, 120_000);
          details.fleetStartup = { agents, processes: fleet.children.length, perProcess: PER_FLEET, msToAllRegistered: Date.now() - t0, perFleetMs: fleet.startupMs };
          for (const g of gangs) {
            // Warm pools full (Node supervisors) and the machine quiet again before each gang.
            await waitWarmPools(marker, fleet, agents * WARM_PER_AGENT, opts.log);
            results.push(await runGang(s, fleet, marker, g, opts.log));
          }
        } finally {
          await fleet?.stop();
          await s.stop();
        }
      }
      for (const r of results) {
        rows.push({
          scenario: `(gang) ${r.ranks} ranks × 8 GPUs on ${r.ranks} agents (${Math.ceil(agents / PER_FLEET)} fleet processes; agent state on ${stateFs})`,
          metric: 'submit → all ranks running',
          value: r.submitToRunningMs,
          unit: 'ms',
          target: '≤ 1,000',
          ok: r.submitToRunningMs <= 1000,
          anchor: r.ranks >= 512 ? 'KAI-Scheduler 48.7 s (512)' : r.ranks >= 256 ? 'Slurm srun -N256 4.57 s' : undefined,
        });
        const ph = r.phases;
        rows.push({
          scenario: `(gang) ${r.ranks} ranks: phases`,
          metric: `placed / last StartTask in / last supervisor spawned or handed (of ${r.ranks}: ${ph['ranks started by a native supervisor']} native, ${ph['ranks started by a warm supervisor']} warm Node) / last rank started / scheduler saw all`,
          value: [
            ph['submit → placed and committed'],
            ph['placed → last StartTask received'],
            ph['last StartTask received → last supervisor spawned or handed its task'],
            ph['last supervisor spawned or handed its task → last rank process started'],
            ph['last rank started → scheduler has all running'],
          ].join(' / '),
          unit: 'ms (each from the previous)',
        });
        const c = r.cpuMs;
        rows.push({
          scenario: `(gang) ${r.ranks} ranks: CPU, submit → all running`,
          metric: 'scheduler / agents (fleet processes) / rank supervisors / native launchers / rank processes (per process, in 10 ms ticks: short-lived ones read 0); per rank, all; whole machine (per rank); whole machine less scheduler and fleet; CPU time the host took (steal)',
          value: `${c['scheduler CPU']} / ${c['fleet processes CPU (agents)']} / ${c['rank supervisors CPU']} / ${c['native launchers CPU']} / ${c['rank processes CPU']}; ${c['CPU per rank, all']}; ${c['whole machine CPU']} (${c['whole machine CPU per rank']}); ${c['whole machine less scheduler and fleet']}; steal ${c['stolen by the host (steal)']}`,
          unit: 'ms',
        });
        rows.push({ scenario: `(gang) ${r.ranks} ranks: memory`, metric: 'rank supervisors PSS (count) / idle warm supervisors PSS (count) / fleet PSS / scheduler PSS', value: `${r.supervisorMemory.pssMiB} (${r.supervisorMemory.processes}) / ${r.warmPoolMemory.pssMiB} (${r.warmPoolMemory.processes}) / ${r.fleetMemory.pssMiB} / ${r.schedulerMemory.pssMiB}`, unit: 'MiB' });
      }
      details.gang = { method: 'one rank per agent (8 GPUs per rank), rank command "sleep 120", cancelled after; times are wall clock on one machine (submit in the benchmark, placed from the scheduler log, per-rank times from the runner task records spec.json createdMs, launch.json launchedMs, status.json startedMs, all-running from the job startedMs)', results, skipped };
    }

    // (light)
    if (want('(light)') && params.lightN > 0) {
      const node = await spawnSupervisors(root, 'node', params.lightN);
      const lean = await spawnSupervisors(root, 'node-lean', params.lightN);
      const sh = await spawnSupervisors(root, 'sh', params.lightN);
      const warm = await spawnSupervisors(root, 'warm', params.lightN);
      const native = existsSync(NATIVE_SUPERVISOR) ? await spawnSupervisors(root, 'native', params.lightN) : undefined;
      rows.push({ scenario: `(light) ${params.lightN} supervisors spawned at once`, metric: 'production node supervisor.js: all ranks started (p50)', value: `${node.allStartedMs} (${node.p50Ms})`, unit: 'ms' });
      rows.push({ scenario: `(light) ${params.lightN} supervisors spawned at once`, metric: `the same with node ${LEAN_NODE_FLAGS.join(' ')}: all ranks started (p50)`, value: `${lean.allStartedMs} (${lean.p50Ms})`, unit: 'ms' });
      rows.push({ scenario: `(light) ${params.lightN} supervisors spawned at once`, metric: 'POSIX sh prototype: all ranks started (p50)', value: `${sh.allStartedMs} (${sh.p50Ms})`, unit: 'ms' });
      rows.push({ scenario: `(light) ${params.lightN} warm supervisors (booted beforehand) handed their task at once`, metric: 'production supervisor.js --warm: all ranks started (p50)', value: `${warm.allStartedMs} (${warm.p50Ms})`, unit: 'ms' });
      if (native) rows.push({ scenario: `(light) ${params.lightN} native supervisors, their tasks written to one launcher at once`, metric: 'production gantry-supervisor: all ranks started (p50)', value: `${native.allStartedMs} (${native.p50Ms})`, unit: 'ms' });
      details.light = { n: params.lightN, node, nodeLean: { flags: LEAN_NODE_FLAGS, ...lean }, sh, warm, native, note: 'one process spawns n supervisors back to back (as n agents would), each on a prepared task dir; "all ranks started" = the last status.json startedMs minus the first spawn; warm: n warm supervisors booted and ready first (untimed), then each sent its task dir over IPC, timed from the first send; native: one launcher booted first (untimed), then all n task dirs written to it at once, timed from that write' };
    }

    // (restart)
    if (want('(restart)') && params.storedJobs > 0) {
      const dataDir = path.join(root, 'sched-restart');
      mkdirSync(dataDir, { recursive: true });
      const filled = await prefill(dataDir, params.storedJobs);
      opts.log(`  prefilled ${params.storedJobs} jobs in ${filled.ms} ms: ${JSON.stringify(filled.states)}`);
      const emptyDir = path.join(root, 'sched-empty');
      const baseline: number[] = [];
      const baselineCpu: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now();
        const s = await startScheduler(emptyDir);
        baseline.push(Number(s.runningLog.time) - t0);
        baselineCpu.push(processCpuMs(s.child.proc.pid));
        await s.stop();
      }
      const runs: Awaited<ReturnType<typeof timeRestart>>[] = [];
      // The last stored job (ids are <spec name>-<n>, spec n % 5 of train-1, -2, -4, -8, -16).
      const probeId = `train-${[1, 2, 4, 8, 16][params.storedJobs % 5]}-${params.storedJobs}`;
      for (let i = 0; i < 3; i++) runs.push(await timeRestart(dataDir, probeId));
      const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const serving = med(runs.map((r) => r.servingMs));
      rows.push({ scenario: `(restart) ${params.storedJobs.toLocaleString('en-US')} stored jobs`, metric: 'process start → serving gRPC, jobs loaded (median of 3)', value: serving, unit: 'ms', target: '≤ 2,000', ok: serving <= 2000 && runs.every((r) => r.jobsLoaded === params.storedJobs) });
      rows.push({ scenario: `(restart) ${params.storedJobs.toLocaleString('en-US')} stored jobs`, metric: '"scheduler running" logged; empty store for comparison', value: `${med(runs.map((r) => r.runningLogMs))}; ${med(baseline)}`, unit: 'ms' });
      rows.push({ scenario: `(restart) ${params.storedJobs.toLocaleString('en-US')} stored jobs`, metric: 'scheduler CPU until serving; empty store, until "running"', value: `${med(runs.map((r) => r.cpuMsToServing))}; ${med(baselineCpu)}`, unit: 'ms' });
      rows.push({ scenario: `(restart) ${params.storedJobs.toLocaleString('en-US')} stored jobs`, metric: 'jobs loaded (every run)', value: runs.map((r) => r.jobsLoaded).join(', '), unit: 'jobs', target: String(params.storedJobs), ok: runs.every((r) => r.jobsLoaded === params.storedJobs) });
      details.restart = { stored: params.storedJobs, states: filled.states, prefillMs: filled.ms, runs, emptyStoreRunningLogMs: baseline, emptyStoreCpuMs: baselineCpu };
    }

    // (submit)
    if (want('(submit)') && params.submits > 0) {
      const s = await startScheduler(path.join(root, 'sched-submit'));
      let fleet: Fleet | undefined;
      try {
        fleet = await startFleet(root, s.address, 8, 'sub', opts.log);
        await waitNodesReady(s, 8, 60_000);
        for (const n of fleet.names) await call(s, 'CordonNode', { name: n, reason: 'benchmark: keep submitted jobs pending' });
        // Warm-up, then the measured run.
        await submitRate(s, 100, params.clients);
        const r = await submitRate(s, params.submits, params.clients);
        rows.push({ scenario: `(submit) ${params.submits} SubmitJob, ${params.clients} clients, 8 cordoned nodes (jobs stay pending)`, metric: 'accepted/s', value: r.perSecond, unit: 'jobs/s', anchor: 'Slurm documents 1,000 submissions/s' });
        rows.push({ scenario: `(submit) ${params.submits} SubmitJob, ${params.clients} clients`, metric: 'latency p50 / p99', value: `${r.p50Ms} / ${r.p99Ms}`, unit: 'ms' });
        details.submit = { ...r, clients: params.clients, nodes: 8, note: 'every node cordoned: each job is validated, checked to fit an empty cluster, stored (concurrent submits share LMDB commits; the reply waits for its commit) and stays pending; submits ask for coalesced scheduling cycles (one starts no sooner after the last than that one took to plan)' };
      } finally {
        await fleet?.stop();
        await s.stop();
      }
    }
  } finally {
    await stopProcessesMentioning(marker, 0);
    rmSync(root, { recursive: true, force: true });
    if (stateRoot !== root) rmSync(stateRoot, { recursive: true, force: true });
  }
  return { rows, details };
}

export const jobsSuite: BenchSuite = {
  name: 'jobs',
  description: 'jobs on real parts: 512-rank gang start, restart with 100k stored jobs, SubmitJob rate',
  run,
};
