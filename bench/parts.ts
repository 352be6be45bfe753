/**
 * Pieces more than one suite uses: the scheduler as a real child process, memory of processes,
 * the fixture a simulated node's GPUs come from, and its per-node GPU UUIDs.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, gantryEntry, packageRoot, startChild, type Child } from '../shared/procs/index.js';
import { schedulerClient, unaryCall } from '../shared/cli/client.js';
import type { SchedulerServiceClient } from '../shared/proto/index.js';
import { adminCredentials, schedulerTlsArgs, type BenchPki } from './bench-pki.js';

const ROOT = packageRoot();
/** An 8 × H100 node's `nvidia-smi -q -x` and `nvidia-smi topo -m`. */
export const H100_XML = path.join(ROOT, 'fixtures', 'nvidia', 'qx-h100.xml');
export const H100_TOPO = path.join(ROOT, 'fixtures', 'nvidia', 'derived', 'topo-m-h100x8.txt');

export const round = (x: number, d = 0): number => Math.round(x * 10 ** d) / 10 ** d;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function memAvailableBytes(): number {
  const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) * 1024 : os.freemem();
}

/** Proportional and private memory of processes (bytes), from smaps_rollup. */
export function memoryOf(pids: readonly number[]): { pss: number; private: number; rss: number } {
  let pss = 0;
  let priv = 0;
  let rss = 0;
  for (const pid of pids) {
    try {
      const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? 0) * 1024;
      pss += kb('Pss');
      priv += kb('Private_Clean') + kb('Private_Dirty');
      rss += kb('Rss');
    } catch {
      // gone
    }
  }
  return { pss, private: priv, rss };
}

export interface Sched {
  child: Child;
  address: string;
  client: SchedulerServiceClient;
  spawnedAt: number;
  stop(): Promise<void>;
}

/**
 * The scheduler (`gantry scheduler`) as a child process on its own data dir, NATS off; resolves once
 * it logged "scheduler running" (that log line is runningLog: its metricsPort, jobsLoaded...), or `readyLog`.
 * `extra` flags come last, so `--set` there overrides the defaults here.
 */
export async function startScheduler(
  dataDir: string,
  opts: { extra?: string[]; waitMs?: number; pki?: BenchPki; grpcPort?: number; readyLog?: string } = {},
): Promise<Sched & { runningLog: Record<string, unknown> }> {
  const port = opts.grpcPort ?? (await freePort());
  const args = [
    // e.g. GANTRY_BENCH_SCHEDULER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the scheduler
    ...(process.env.GANTRY_BENCH_SCHEDULER_NODE_ARGS ?? '').split(' ').filter(Boolean),
    gantryEntry(), 'scheduler',
    '--data-dir', dataDir,
    '--grpc-listen', `127.0.0.1:${port}`,
    '--metrics-listen', '127.0.0.1:0',
    '--lost-after-ms', '120000',
    '--report-interval-ms', '60000',
    '--set', 'nats.enabled=false',
    // mTLS with `pki` (the benchmark's client is an admin by its certificate); else plaintext, and
    // a call without credentials acts as an admin.
    ...(opts.pki ? schedulerTlsArgs(opts.pki) : ['--set', 'grpc.insecure=true', '--set', 'auth.anonymousRole=admin']),
    // The benchmark's client is one caller making thousands of calls: no per-caller rate limit.
    '--set', 'grpc.rateLimit.requestsPerSecond=0',
    ...(opts.extra ?? []),
  ];
  const spawnedAt = Date.now();
  const child = startChild('scheduler', process.execPath, args, { env: { ...process.env, GANTRY_LOG_FORMAT: 'json', GANTRY_LOG_LEVEL: 'info' } });
  // A high-availability scheduler starts as a standby: readyLog 'scheduler standby'.
  const runningLog = await child.waitForLog(opts.readyLog ?? 'scheduler running', opts.waitMs ?? 60_000);
  const address = `127.0.0.1:${port}`;
  const client = schedulerClient(address, opts.pki ? { credentials: adminCredentials(opts.pki), channelOptions: {} } : undefined);
  return {
    child,
    address,
    client,
    spawnedAt,
    runningLog,
    async stop() {
      client.close();
      await child.stop(10_000);
    },
  };
}

/** One unary call of the scheduler's gRPC API. */
export const call = <Res>(s: { client: SchedulerServiceClient }, method: keyof SchedulerServiceClient, req: object, timeoutMs = 30_000): Promise<Res> =>
  unaryCall<object, Res>(s.client, s.client[method] as never, req, timeoutMs);

export function uuidFor(node: string, i: number): string {
  // The stand-in nvidia-smi's rule (scripts/sim/nvidia-smi): every simulated node its own GPUs.
  const h = createHash('sha256').update(`${node}/${i}`).digest('hex');
  return `GPU-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
