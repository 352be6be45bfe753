/**
 * Agents reporting at 1 Hz into one scheduler (DESIGN.md, performance targets: "10,000 agents,
 * scheduler under one core"). The scheduler is the real daemon as a child process (reports asked
 * every 1000 ms in its Registered reply); the agents are simulated by bench/report-load.ts in 1-3
 * child processes, each agent its own HTTP/2 connection and Connect stream, a Register with a real
 * inventory, then a Report a second, spread evenly over the second. Once every node is ready and
 * the load has settled, a window (30 s; 10 s with --quick) measures the scheduler's CPU time over
 * wall time (cores used), reports received per second (its reports counter), its memory, what the
 * generator and the whole machine used, and whether any node went lost.
 *
 * `--report-agents 1000,5000,10000` runs several sizes, each on a fresh scheduler. To see where the
 * scheduler's time goes, GANTRY_BENCH_SCHEDULER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles
 * it; details.runs[].windowMonotonicUs (and registration.monotonicUs) are the window (and the
 * registration) on the profile's clock (CLOCK_MONOTONIC, µs).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { parseProcStat, type ProcStat } from '../agent/runner/index.js';
import { packageRoot, stopProcessesMentioning } from '../shared/procs/index.js';
import type { ListNodesResponse__Output } from '../shared/proto/index.js';
import type { LoadPlan, LoadStats } from './report-load.js';
import { call, memAvailableBytes, memoryOf, round, sleep, startScheduler } from './parts.js';
import { makeBenchPki, mtlsRuns, parseMtls, type MtlsMode } from './bench-pki.js';
import { machineCpuMs, processCpuMs, type BenchOptions, type BenchRow, type BenchSuite, type SuiteResult } from './suite.js';

const LOAD = path.join(packageRoot(), 'dist', 'bench', 'report-load.js');
const INTERVAL_MS = 1000;
/**
 * A node is lost after 10 s without a report: ten missed intervals, so a lost node in the window
 * means the scheduler (or the machine) fell far behind, not a late report or two.
 */
const LOST_AFTER_MS = 10_000;
/** Agents per generator process, at most (and at most 3 processes: they share the 2 cores). */
const PER_GENERATOR = 4000;
/** Memory per agent, scheduler and generator together, for the "does it fit" check: measured ≈ 120 KiB PSS at 10,000 (76 + 44). */
const BUDGET_PER_AGENT_BYTES = 256 * 1024;
const MiB = 2 ** 20;

/**
 * Starts one generator process; resolves once all its agents are registered (or failed), with its
 * ready line and stats(), which asks for its counters (its answer to "stats" on stdin).
 */
async function startGenerator(root: string, plan: LoadPlan, n: number) {
  const file = path.join(root, `load-${n}.json`);
  writeFileSync(file, JSON.stringify(plan));
  // e.g. GANTRY_BENCH_LOAD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the generator
  const nodeArgs = (process.env.GANTRY_BENCH_LOAD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, LOAD, file], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
  // Its JSON lines answer, in order: the ready line, then one per "stats".
  const waiting: Array<(line: Record<string, unknown>) => void> = [];
  readline.createInterface({ input: child.stdout! }).on('line', (line) => line.startsWith('{') && waiting.shift()?.(JSON.parse(line) as Record<string, unknown>));
  const next = (timeoutMs: number, what: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`generator ${n}: no ${what} after ${timeoutMs} ms: ${err}`)), timeoutMs);
      child.once('exit', (code) => reject(new Error(`generator ${n} exited (${code}): ${err}`)));
      waiting.push((j) => {
        clearTimeout(timer);
        resolve(j);
      });
    });
  const ready = (await next(600_000, 'ready line')) as { ready: number; failed: number; ms: number; certMs: number };
  const stats = async (): Promise<LoadStats> => {
    const answer = next(10_000, 'stats');
    child.stdin!.write('stats\n');
    return (await answer).stats as LoadStats;
  };
  return { child, ready, stats };
}

/** Counters and gauges from the scheduler's /metrics (unlabelled ones by name, labelled ones as name{labels}). */
async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(gantry_scheduler_[a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/**
 * A process's CPU time so far (ms) by kind, summed over its threads (/proc/<pid>/task): user,
 * system (the kernel's side of its sockets), and its main thread's (the event loop's; the rest is
 * V8's GC and compiler threads and libuv's pool).
 */
function threadsCpuMs(pid: number): { user: number; system: number; main: number } {
  const out = { user: 0, system: 0, main: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let st: ProcStat | undefined;
    try {
      st = parseProcStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
    } catch {
      // a thread gone
    }
    if (!st) continue;
    out.user += st.userTicks * 10;
    out.system += st.systemTicks * 10;
    if (Number(tid) === pid) out.main += st.cpuTicks * 10;
  }
  return out;
}

type RunResult = Awaited<ReturnType<typeof runOnce>>;

async function runOnce(root: string, agents: number, windowS: number, log: (l: string) => void, mtls: boolean) {
  const tag = `${agents}${mtls ? '-mtls' : ''}`;
  const pki = mtls ? await makeBenchPki(root, `pki-${tag}`) : undefined;
  const s = await startScheduler(path.join(root, `sched-${tag}`), {
    extra: ['--set', `nodes.reportIntervalMs=${INTERVAL_MS}`, '--set', `nodes.lostAfterMs=${LOST_AFTER_MS}`],
    ...(pki ? { pki } : {}),
  });
  const metricsPort = Number(s.runningLog.metricsPort);
  const generators: Array<Awaited<ReturnType<typeof startGenerator>>> = [];
  // Node events (registered, lost, back) as the scheduler publishes them, counted by phase.
  const nodeEvents: Record<'registration' | 'settling' | 'window' | 'after', Record<string, number>> = { registration: {}, settling: {}, window: {}, after: {} };
  let phase: keyof typeof nodeEvents = 'registration';
  const watch = s.client.WatchEvents({ kind: 'node' }) as unknown as { on(e: string, f: (x: never) => void): void; cancel(): void };
  watch.on('data', (ev: { type: string }) => (nodeEvents[phase][ev.type] = (nodeEvents[phase][ev.type] ?? 0) + 1));
  watch.on('error', () => undefined);
  try {
    // Registration: every generator sets up its agents' connections at once (64 in flight each).
    const count = Math.min(3, Math.ceil(agents / PER_GENERATOR));
    const t0 = Date.now();
    const mono0 = process.hrtime.bigint();
    const started = await Promise.all(
      Array.from({ length: count }, (_, g) => {
        const from = Math.floor((g * agents) / count);
        const to = Math.floor(((g + 1) * agents) / count);
        return startGenerator(root, { address: s.address, prefix: 'rep', from, to, intervalMs: INTERVAL_MS, connectConcurrency: 64, ...(pki ? { tls: { caFile: pki.caFile, caKeyFile: pki.caKeyFile } } : {}) }, g);
      }),
    );
    generators.push(...started);
    // Agents that could not register are counted (and reported), not waited for.
    const failed = started.reduce((a, g) => a + g.ready.failed, 0);
    const registered = started.reduce((a, g) => a + g.ready.ready, 0);
    if (failed > 0) log(`  ${failed} agents failed to register: ${(await Promise.all(generators.map((g) => g.stats()))).flatMap((x) => x.errors).slice(0, 5).join('; ')}`);
    for (;;) {
      const ready = (await scrape(metricsPort)).get('gantry_scheduler_nodes{state="ready"}') ?? 0;
      if (ready >= registered) break;
      if (Date.now() - t0 > 600_000) throw new Error(`only ${ready} of ${registered} registered nodes ready after 600 s`);
      await sleep(500);
    }
    // The generators make their agents' node certificates first (mTLS): not part of registering.
    const certMs = Math.max(0, ...started.map((g) => g.ready.certMs ?? 0));
    const registration = { ms: Date.now() - t0 - certMs, certMs, failed, schedulerCpuMs: processCpuMs(s.child.proc.pid), generatorMs: started.map((g) => g.ready.ms), monotonicUs: [mono0, process.hrtime.bigint()].map((t) => Number(t / 1000n)) };
    log(`  ${agents} agents registered in ${registration.ms} ms (scheduler CPU since its start ${registration.schedulerCpuMs} ms); settling`);
    // Settle: every agent in its report rhythm, registration's garbage collected.
    phase = 'settling';
    await sleep(5000);

    const genPids = generators.map((g) => g.child.pid!);
    const cpuOf = () => ({
      sched: processCpuMs(s.child.proc.pid),
      threads: threadsCpuMs(s.child.proc.pid!),
      gen: genPids.reduce((a, p) => a + processCpuMs(p), 0),
      machine: machineCpuMs(),
      wall: performance.now(),
      mono: process.hrtime.bigint(),
    });
    const m0 = await scrape(metricsPort);
    const sent0 = (await Promise.all(generators.map((g) => g.stats()))).reduce((a, x) => a + x.reportsSent, 0);
    const c0 = cpuOf();
    phase = 'window';
    await sleep(windowS * 1000);
    const c1 = cpuOf();
    phase = 'after';
    const m1 = await scrape(metricsPort);
    const genStats = await Promise.all(generators.map((g) => g.stats()));
    const wallS = (c1.wall - c0.wall) / 1000;
    const delta = (k: string): number => (m1.get(k) ?? 0) - (m0.get(k) ?? 0);
    const lostNow = await call<ListNodesResponse__Output>(s, 'ListNodes', { connectivity: 'CONNECTIVITY_LOST' });
    const schedMem = memoryOf([s.child.proc.pid!]);
    const genMem = memoryOf(genPids);
    const r = {
      agents,
      mtls,
      generators: generators.length,
      registration,
      windowS: round(wallS, 2),
      windowMonotonicUs: [Number(c0.mono / 1000n), Number(c1.mono / 1000n)],
      schedulerCores: round((c1.sched - c0.sched) / 1000 / wallS, 3),
      schedulerCoresBy: Object.fromEntries((['user', 'system', 'main'] as const).map((k) => [k === 'main' ? 'mainThread' : k, round((c1.threads[k] - c0.threads[k]) / 1000 / wallS, 3)])),
      reportsPerSecond: round(delta('gantry_scheduler_reports_received_total') / wallS),
      reportsSentPerSecond: round((genStats.reduce((a, x) => a + x.reportsSent, 0) - sent0) / wallS),
      schedulerMemory: { pssMiB: round(schedMem.pss / MiB), rssMiB: round(schedMem.rss / MiB), privateMiB: round(schedMem.private / MiB) },
      generatorCores: round((c1.gen - c0.gen) / 1000 / wallS, 3),
      generatorMemory: { pssMiB: round(genMem.pss / MiB) },
      machineCores: round((c1.machine.busy - c0.machine.busy) / 1000 / wallS, 3),
      stealCores: round((c1.machine.steal - c0.machine.steal) / 1000 / wallS, 3),
      lostInWindow: nodeEvents.window.lost ?? 0,
      nodeEvents,
      lostAtEnd: lostNow.nodes.length,
      registrationsInWindow: delta('gantry_scheduler_registrations_total'),
      streamsAtEnd: m1.get('gantry_scheduler_agent_streams') ?? NaN,
      generatorStats: genStats,
    };
    log(`  ${agents} agents: scheduler ${r.schedulerCores} cores, ${r.reportsPerSecond} reports/s received (${r.reportsSentPerSecond} sent), PSS ${r.schedulerMemory.pssMiB} MiB; generators ${r.generatorCores} cores; machine ${r.machineCores} cores; lost ${r.lostInWindow}`);
    return r;
  } finally {
    watch.cancel();
    for (const g of generators) g.child.kill('SIGTERM');
    await Promise.all(generators.map((g) => (g.child.exitCode !== null || g.child.signalCode !== null ? undefined : once(g.child, 'exit'))));
    await s.stop();
  }
}

function reportsParams(opts: BenchOptions): { agents: number[]; windowS: number; mtls: MtlsMode } {
  const v = opts.params['report-agents'];
  const agents = v ? v.split(',').map((x) => Number(x.trim())).filter((x) => Number.isInteger(x) && x > 0) : [opts.quick ? 1000 : 10_000];
  return { agents: agents.sort((a, b) => a - b), windowS: opts.quick ? 10 : 30, mtls: parseMtls(opts.params.mtls) };
}

async function run(opts: BenchOptions): Promise<SuiteResult> {
  const params = reportsParams(opts);
  if (!existsSync(LOAD)) throw new Error('build first: npx tsc -p tsconfig.json');
  const rows: BenchRow[] = [];
  const runs: RunResult[] = [];
  const skipped: number[] = [];
  const root = mkdtempSync(path.join(os.tmpdir(), 'gantry-bench-reports-'));
  try {
    for (const n of params.agents) {
      // The machine is shared: leave 4 GiB to the rest of it.
      if (n * BUDGET_PER_AGENT_BYTES > memAvailableBytes() - 4 * 2 ** 30) {
        opts.log(`  skipping ${n} agents: not enough memory (${round(memAvailableBytes() / 2 ** 30, 1)} GiB available)`);
        skipped.push(n);
        continue;
      }
      for (const mtls of mtlsRuns(params.mtls)) runs.push(await runOnce(root, n, params.windowS, opts.log, mtls));
    }
  } finally {
    // Every process this suite started names its temporary dir (the scheduler's data dir, the generators' plans).
    await stopProcessesMentioning(path.basename(root), 0);
    rmSync(root, { recursive: true, force: true });
  }
  for (const r of runs) {
    const scenario = `(reports) ${r.agents.toLocaleString('en-US')} agents reporting at 1 Hz, one connection each${r.mtls ? ', mTLS (a node certificate each)' : ''}`;
    rows.push({ scenario, metric: `scheduler cores used (its CPU time / wall time, ${r.windowS} s window)`, value: r.schedulerCores, unit: 'cores', target: '< 1 core', ok: r.schedulerCores < 1, anchor: '—' });
    rows.push({ scenario, metric: 'reports received/s (sent/s by the generators)', value: `${r.reportsPerSecond} (${r.reportsSentPerSecond})`, unit: 'reports/s', anchor: '—' });
    rows.push({ scenario, metric: 'scheduler memory PSS (RSS)', value: `${r.schedulerMemory.pssMiB} (${r.schedulerMemory.rssMiB})`, unit: 'MiB', anchor: '—' });
    rows.push({ scenario, metric: `generator CPU (${r.generators} process(es), PSS ${r.generatorMemory.pssMiB} MiB); whole machine busy; steal`, value: `${r.generatorCores}; ${r.machineCores}; ${r.stealCores}`, unit: 'cores', anchor: '—' });
    rows.push({ scenario, metric: `registration: all connected and ready; scheduler CPU from its start (per agent)`, value: `${r.registration.ms}; ${r.registration.schedulerCpuMs} (${round(r.registration.schedulerCpuMs / r.agents, 2)})`, unit: 'ms', anchor: '—' });
    rows.push({ scenario, metric: 'nodes lost in the window (lost at its end; agents that failed to register)', value: `${r.lostInWindow} (${r.lostAtEnd}; ${r.registration.failed})`, unit: 'nodes', target: '0', ok: r.lostInWindow === 0 && r.lostAtEnd === 0 && r.registration.failed === 0, anchor: '—' });
  }
  return {
    rows,
    details: {
      params: { ...params, intervalMs: INTERVAL_MS, lostAfterMs: LOST_AFTER_MS },
      runs,
      skipped,
      method:
        'scheduler: the real daemon (NATS off, LMDB store in a temp dir) asking agents for a report every 1000 ms; agents: bench/report-load.ts, ' +
        'each agent its own HTTP/2 connection (node:http2) with one AgentService.Connect stream, a Register with an 8 × H100 inventory (fixtures/nvidia/qx-h100.xml ' +
        'through the agent’s NVIDIA collector, distinct GPU UUIDs, leaf/spine labels), then a Report (seq, sent_unix_ms, nothing changed) every second in 100 ' +
        'slots of 10 ms, and an HTTP/2 PING every 20 reports (a real agent’s grpc-js keepalive is 20 s); the window starts 5 s after every node is ready; cores = CPU ' +
        'time (/proc, 10 ms ticks) / wall time; reports/s from gantry_scheduler_reports_received_total; lost = node events of type lost in the window (WatchEvents) ' +
        `(lostAfterMs ${LOST_AFTER_MS}) and ListNodes(LOST) at its end`,
    },
  };
}

export const reportsSuite: BenchSuite = {
  name: 'reports',
  description: 'agents reporting at 1 Hz into one scheduler: 10,000 agents, each its own connection; scheduler cores used',
  run,
};
