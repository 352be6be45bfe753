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
 * One file per scenario: jobs-gang.ts, jobs-light.ts, jobs-restart.ts, jobs-submit.ts; the fleet,
 * the memory budget and the supervisor processes they share in jobs-fleet.ts. This file reads
 * the parameters, runs the scenarios asked for and turns their results into rows.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gantryEntry, removeCgroupTree, stopProcessesMentioning } from '../shared/procs/index.js';
import { call, memAvailableBytes, round, sleep, startScheduler } from './parts.js';
import { processCpuMs, type BenchOptions, type BenchRow, type BenchSuite, type SuiteResult } from './suite.js';
import { FLEET, FLEET_BUDGET_BYTES, MEMORY_CAP_BYTES, NATIVE_SUPERVISOR, PER_FLEET, RANK_BUDGET_BYTES, WARM_PER_AGENT, fleetCgroupRoot, fsTypeOf, launchers, startFleet, waitNodesReady, type Fleet } from './jobs-fleet.js';
import { runGang, waitWarmPools, type GangResult } from './jobs-gang.js';
import { LEAN_NODE_FLAGS, spawnSupervisors } from './jobs-light.js';
import { prefill, timeRestart } from './jobs-restart.js';
import { submitRate } from './jobs-submit.js';
import { makeBenchPki, mtlsRuns, parseMtls, type MtlsMode } from './bench-pki.js';

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
  /** The gang over plaintext, mTLS (node certificates, an admin client certificate), or both: --mtls off|on|both. */
  mtls: MtlsMode;
  /** Ranks contained in cgroups (runner.containment auto, the agent's default) or not: --containment on|off. */
  containment: boolean;
}

function parseContainment(v: string | undefined): boolean {
  if (v === undefined || v === 'on') return true;
  if (v === 'off') return false;
  throw new Error(`--containment must be on or off, not ${JSON.stringify(v)}`);
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
    mtls: parseMtls(p.mtls),
    containment: parseContainment(p.containment),
  };
}

export async function run(opts: BenchOptions): Promise<SuiteResult> {
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
      const results: Array<GangResult & { mtls: boolean }> = [];
      details.fleetStartup = [];
      // Plaintext, mTLS, or both (--mtls): each on its own scheduler and fleet, the same gangs.
      for (const mtls of agents > 0 ? mtlsRuns(params.mtls) : []) {
        const tag = mtls ? 'mtls' : 'plain';
        const pki = mtls ? await makeBenchPki(root, 'pki-gang') : undefined;
        const s = await startScheduler(path.join(root, `sched-gang-${tag}`), { ...(pki ? { pki } : {}) });
        let fleet: Fleet | undefined;
        try {
          const t0 = Date.now();
          fleet = await startFleet(root, s.address, agents, `sim${mtls ? 't' : ''}`, opts.log, stateRoot, undefined, pki, params.containment);
          await waitNodesReady(s, agents, 120_000);
          (details.fleetStartup as unknown[]).push({ mtls, agents, processes: fleet.children.length, perProcess: PER_FLEET, msToAllRegistered: Date.now() - t0, perFleetMs: fleet.startupMs });
          for (const g of gangs) {
            // Warm pools full (Node supervisors) and the machine quiet again before each gang.
            await waitWarmPools(marker, fleet, agents * WARM_PER_AGENT, opts.log);
            results.push({ ...(await runGang(s, fleet, marker, g, opts.log)), mtls });
          }
        } finally {
          await fleet?.stop();
          await s.stop();
        }
      }
      for (const r of results) {
        const over = `${r.mtls ? ' over mTLS' : ''}${params.containment ? '' : ', uncontained'}`;
        rows.push({
          scenario: `(gang) ${r.ranks} ranks × 8 GPUs on ${r.ranks} agents (${Math.ceil(agents / PER_FLEET)} fleet processes; agent state on ${stateFs})${over}`,
          metric: 'submit → all ranks running',
          value: r.submitToRunningMs,
          unit: 'ms',
          target: '≤ 1,000',
          ok: r.submitToRunningMs <= 1000,
          anchor: r.ranks >= 512 ? 'KAI-Scheduler 48.7 s (512)' : r.ranks >= 256 ? 'Slurm srun -N256 4.57 s' : undefined,
        });
        const ph = r.phases;
        rows.push({
          scenario: `(gang) ${r.ranks} ranks${over}: phases`,
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
          scenario: `(gang) ${r.ranks} ranks${over}: CPU, submit → all running`,
          metric: 'scheduler / agents (fleet processes) / rank supervisors / native launchers / rank processes (per process, in 10 ms ticks: short-lived ones read 0); per rank, all; whole machine (per rank); whole machine less scheduler and fleet; CPU time the host took (steal)',
          value: `${c['scheduler CPU']} / ${c['fleet processes CPU (agents)']} / ${c['rank supervisors CPU']} / ${c['native launchers CPU']} / ${c['rank processes CPU']}; ${c['CPU per rank, all']}; ${c['whole machine CPU']} (${c['whole machine CPU per rank']}); ${c['whole machine less scheduler and fleet']}; steal ${c['stolen by the host (steal)']}`,
          unit: 'ms',
        });
        rows.push({ scenario: `(gang) ${r.ranks} ranks${over}: memory`, metric: 'rank supervisors PSS (count) / idle warm supervisors PSS (count) / fleet PSS / scheduler PSS', value: `${r.supervisorMemory.pssMiB} (${r.supervisorMemory.processes}) / ${r.warmPoolMemory.pssMiB} (${r.warmPoolMemory.processes}) / ${r.fleetMemory.pssMiB} / ${r.schedulerMemory.pssMiB}`, unit: 'MiB' });
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
      opts.log(`  prefilled ${params.storedJobs} jobs and ${filled.usageEntries} usage entries in ${filled.ms} ms: ${JSON.stringify(filled.states)}`);
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
      rows.push({ scenario: `(restart) ${params.storedJobs.toLocaleString('en-US')} stored jobs`, metric: 'usage entries stored with them (one per placed rank; GANTRY_BENCH_NO_USAGE=1: none)', value: filled.usageEntries, unit: 'entries' });
      rows.push({ scenario: `(restart) ${params.storedJobs.toLocaleString('en-US')} stored jobs`, metric: 'jobs loaded (every run)', value: runs.map((r) => r.jobsLoaded).join(', '), unit: 'jobs', target: String(params.storedJobs), ok: runs.every((r) => r.jobsLoaded === params.storedJobs) });
      details.restart = { stored: params.storedJobs, states: filled.states, prefillMs: filled.ms, usageEntries: filled.usageEntries, runs, emptyStoreRunningLogMs: baseline, emptyStoreCpuMs: baselineCpu };
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
    await removeCgroupTree(fleetCgroupRoot(root));
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
