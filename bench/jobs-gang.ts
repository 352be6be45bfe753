/** (gang): submit → every rank running for a G-rank gang on G simulated agents, by phase (see bench/jobs.ts). */
import path from 'node:path';
import { processesMentioning } from '../shared/procs/index.js';
import type { PbJobOut } from '../shared/proto/index.js';
import { call, memoryOf, round, sleep, type Sched } from './parts.js';
import { machineCpuMs, percentile, processCpuMs } from './suite.js';
import { childrenOf, isNative, launchers, rankSupervisors, readRecord, warmSupervisors, type Fleet } from './jobs-fleet.js';

export interface GangResult {
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

export async function runGang(s: Sched, fleet: Fleet, root: string, ranks: number, log: (l: string) => void): Promise<GangResult> {
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
  const submitted = await call<PbJobOut>(s, 'SubmitJob', { spec, owner: '' });
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

/**
 * Waits until every agent's warm pool is full (runner.warmSupervisors each) and the machine is
 * quiet again (the fleet and its supervisors use under 10% of a core over half a second), so a
 * gang starts from the state an idle cluster is in.
 */
export async function waitWarmPools(root: string, fleet: Fleet, want: number, log: (l: string) => void): Promise<void> {
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
