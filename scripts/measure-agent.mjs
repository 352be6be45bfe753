#!/usr/bin/env node
/*
 * Measures the agent's collection cycle in-process (after `npm run build`): cycles of the real
 * prober (dist/agent/main.js createProber, with the default config: full `nvidia-smi -q -x` probe at
 * start and every collectors.nvidia.fullProbeEveryCycles cycles, the light `--query-gpu` probe
 * between) against the stand-in nvidia-smi serving the 8-GPU H100 capture, with the host (a child
 * process), InfiniBand (sysfs capture) and kernel-log (dmesg capture) collectors on.
 * Prints, per cycle, the process's RSS and its own CPU time (process.cpuUsage deltas: user + system
 * of this process only; nvidia-smi and the host-probe child are not counted), then a summary table
 * and JSON.
 *
 *   node scripts/measure-agent.mjs [--cycles 91] [--json-only] [--no-unit-flags] [--binary nvidia-smi --gpus N]
 *
 * --binary: probe a real nvidia-smi (on a GPU machine) instead of the stand-in, expecting --gpus GPUs
 * (default 8, the stand-in's capture), with the machine's own /sys/class/infiniband and /dev/kmsg.
 *
 * Same Node flags as the daemon: the script re-runs itself with the NODE_OPTIONS of
 * deploy/systemd/gantry-agent.service (`Environment=NODE_OPTIONS=...`) as Node options, unless
 * --no-unit-flags (to measure what they buy) or they are already in effect.
 *
 * Targets: RSS <= 80 MB (max over all cycles), <= 20 ms CPU per cycle: the mean over cycles
 * 2..1+k*N (k whole periods of N = fullProbeEveryCycles, so full probes count at their configured
 * frequency; cycle 1 also starts the JIT). Light and full cycles are reported apart as well.
 * Exit status 1 when a target is missed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
if (!existsSync(path.join(dist, 'agent', 'main.js'))) {
  process.stderr.write('dist/agent/main.js is missing: run `npm run build` first\n');
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '91' },
    'json-only': { type: 'boolean', default: false },
    'no-unit-flags': { type: 'boolean', default: false },
    binary: { type: 'string' },
    gpus: { type: 'string', default: '8' },
  },
});
const cycles = Number(values.cycles);
const expectedGpus = Number(values.gpus);
if (!Number.isInteger(expectedGpus) || expectedGpus < 1) {
  process.stderr.write('--gpus must be an integer >= 1\n');
  process.exit(2);
}
if (!Number.isInteger(cycles) || cycles < 2) {
  process.stderr.write('--cycles must be an integer >= 2\n');
  process.exit(2);
}

// The daemon's Node flags, from its systemd unit.
const unit = readFileSync(path.join(root, 'deploy', 'systemd', 'gantry-agent.service'), 'utf8');
const unitFlags = (/^Environment="?NODE_OPTIONS=([^"\n]*)"?$/m.exec(unit)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
if (!values['no-unit-flags'] && unitFlags.some((f) => !process.execArgv.includes(f))) {
  const r = spawnSync(process.execPath, [...unitFlags, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const nodeFlags = process.execArgv.filter((f) => f.startsWith('--'));

const TARGET_RSS_MB = 80;
const TARGET_CPU_MS = 20;
const fixtures = path.join(root, 'fixtures');

// The stand-in reads these at every call; the collector passes process.env to it.
process.env.GANTRY_SIM_NVIDIA_XML = path.join(root, 'fixtures', 'nvidia', 'qx-h100.xml');
process.env.GANTRY_SIM_NVIDIA_TOPO = path.join(root, 'fixtures', 'nvidia', 'derived', 'topo-m-h100x8.txt');
process.env.GANTRY_SIM_NODE = 'measure-node';
// The stand-in is a Node script: keep any test runner's preload hooks out of it.
delete process.env.NODE_OPTIONS;

const { createProber } = await import(path.join(dist, 'agent', 'main.js'));
const { agentConfigSchema } = await import(path.join(dist, 'agent', 'config.js'));
const { systemClock } = await import(path.join(dist, 'shared', 'clock', 'index.js'));

const config = agentConfigSchema.parse({
  nodeName: 'measure-node',
  collectors: {
    nvidia: { enabled: true, binary: values.binary ?? path.join(root, 'scripts', 'sim', 'nvidia-smi') },
    amd: { enabled: false },
    // On a real machine (--binary), the machine's own sysfs and kernel log (the defaults).
    infiniband: values.binary ? { enabled: true } : { enabled: true, root: path.join(fixtures, 'gpud', 'sys-class-infiniband-h100.0') },
    kernelLog: values.binary ? { enabled: true } : { enabled: true, path: path.join(fixtures, 'gpud', 'dmesg-with-xid-119.log') },
  },
});
const prober = createProber(config, 'measure-node', systemClock, process.env.PATH);

const mb = (bytes) => bytes / 2 ** 20;
// What the modules cost before any cycle ran (grpc, prom-client, zod, fast-xml-parser... are loaded).
const baseline = { rssMB: +mb(process.memoryUsage().rss).toFixed(1), heapUsedMB: +mb(process.memoryUsage().heapUsed).toFixed(1) };
const rows = [];
try {
  for (let i = 1; i <= cycles; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const s = await prober.collect();
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const failed = s.runs.filter((r) => r.error);
    if (failed.length > 0) throw new Error(`cycle ${i}: ${failed.map((r) => `${r.collector}: ${r.error}`).join('; ')}`);
    if (s.inventory.gpus.length !== expectedGpus) throw new Error(`cycle ${i}: ${s.inventory.gpus.length} GPUs, expected ${expectedGpus}`);
    rows.push({
      cycle: i,
      rssMB: +mb(process.memoryUsage().rss).toFixed(1),
      heapUsedMB: +mb(process.memoryUsage().heapUsed).toFixed(1),
      cpuMs: +((cpu.user + cpu.system) / 1000).toFixed(2),
      userMs: +(cpu.user / 1000).toFixed(2),
      systemMs: +(cpu.system / 1000).toFixed(2),
      wallMs: +wallMs.toFixed(1),
      gpuMode: s.runs.find((r) => r.collector === 'nvidia')?.mode ?? '',
      collectors: s.runs.map((r) => (r.mode ? `${r.collector}:${r.mode}` : r.collector)).join(','),
    });
  }
} finally {
  await prober.close();
}

const pct = (xs, p) => {
  if (xs.length === 0) return null;
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.ceil((p / 100) * a.length) - 1)];
};
const mean = (xs) => (xs.length === 0 ? null : +(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2));
const fullEvery = config.collectors.nvidia.fullProbeEveryCycles;
// Whole periods after cycle 1: full probes weigh what they weigh in the daemon.
const periods = Math.floor((cycles - 1) / fullEvery);
const steady = periods > 0 ? rows.slice(1, 1 + periods * fullEvery) : rows.slice(1);
const cpuSteady = steady.map((r) => r.cpuMs);
const light = rows.slice(1).filter((r) => r.gpuMode === 'light').map((r) => r.cpuMs);
const full = rows.slice(1).filter((r) => r.gpuMode === 'full').map((r) => r.cpuMs);
const summary = {
  cycles,
  gpus: expectedGpus,
  nvidiaSmi: values.binary ?? 'stand-in (fixtures/nvidia/qx-h100.xml)',
  node: process.version,
  nodeFlags,
  fullProbeEveryCycles: fullEvery,
  rssMB: { beforeFirstCycle: baseline.rssMB, first: rows[0].rssMB, last: rows.at(-1).rssMB, max: Math.max(...rows.map((r) => r.rssMB)) },
  heapUsedMB: { beforeFirstCycle: baseline.heapUsedMB, last: rows.at(-1).heapUsedMB, max: Math.max(...rows.map((r) => r.heapUsedMB)) },
  cpuMsPerCycle: {
    first: rows[0].cpuMs,
    steadyCycles: `2..${1 + steady.length}`,
    steadyMean: mean(cpuSteady),
    steadyP50: pct(cpuSteady, 50),
    steadyP95: pct(cpuSteady, 95),
    steadyMax: Math.max(...cpuSteady),
    light: { cycles: light.length, mean: mean(light), p50: pct(light, 50), p95: pct(light, 95) },
    full: { cycles: full.length, mean: mean(full), p50: pct(full, 50), max: full.length ? Math.max(...full) : null },
  },
  wallMsPerCycle: { steadyP50: pct(steady.map((r) => r.wallMs), 50) },
  loadAverage: os.loadavg().map((x) => +x.toFixed(2)),
  targets: { rssMB: TARGET_RSS_MB, cpuMsPerCycle: TARGET_CPU_MS },
};
summary.pass = { rss: summary.rssMB.max <= TARGET_RSS_MB, cpu: summary.cpuMsPerCycle.steadyMean <= TARGET_CPU_MS };

if (!values['json-only']) {
  const line = (cells, widths) => cells.map((c, i) => String(c).padStart(widths[i])).join('  ');
  const w = [5, 7, 8, 7, 7, 7, 8];
  process.stdout.write(line(['cycle', 'rss MB', 'heap MB', 'cpu ms', 'user', 'system', 'wall ms'], w) + '  collectors\n');
  for (const r of rows) process.stdout.write(line([r.cycle, r.rssMB, r.heapUsedMB, r.cpuMs, r.userMs, r.systemMs, r.wallMs], w) + `  ${r.collectors}\n`);
  process.stdout.write('\n');
  const s = summary;
  const c = s.cpuMsPerCycle;
  const table = [
    ['RSS (MB)', `before cycle 1 ${s.rssMB.beforeFirstCycle}, first ${s.rssMB.first}`, `last ${s.rssMB.last}`, `max ${s.rssMB.max}`, `target <= ${TARGET_RSS_MB}`, s.pass.rss ? 'ok' : 'MISSED'],
    [
      'CPU per cycle (ms)',
      `first ${c.first}`,
      `mean ${c.steadyMean} p50 ${c.steadyP50} p95 ${c.steadyP95}`,
      `max ${c.steadyMax}`,
      `target <= ${TARGET_CPU_MS} (mean, cycles ${c.steadyCycles}: full probe every ${fullEvery})`,
      s.pass.cpu ? 'ok' : 'MISSED',
    ],
    ['  light cycles', `${c.light.cycles}`, `mean ${c.light.mean} p50 ${c.light.p50} p95 ${c.light.p95}`],
    ['  full cycles', `${c.full.cycles}`, `mean ${c.full.mean} p50 ${c.full.p50}`, `max ${c.full.max}`],
    ['node flags', nodeFlags.join(' ') || '(none)', `load average ${s.loadAverage.join(' ')}`],
  ];
  for (const r of table) process.stdout.write(r.join('  |  ') + '\n');
  process.stdout.write('\n');
}
process.stdout.write(JSON.stringify({ summary, rows }, null, values['json-only'] ? 2 : 0) + '\n');
process.exitCode = summary.pass.rss && summary.pass.cpu ? 0 : 1;
