/**
 * (restart): a store prefilled with S jobs, and scheduler start → serving gRPC with them loaded (see bench/jobs.ts).
 * Each placed rank has its usage entry (issue 23: one per rank, as the job table writes them), unless
 * GANTRY_BENCH_NO_USAGE=1 (the figure without them, for comparison).
 */
import { performance } from 'node:perf_hooks';
import type { JobRecord, JobState, RankRecord, UsageEntry } from '../shared/domain/index.js';
import { rankEntry } from '../scheduler/usage/index.js';
import { parseJobSpec } from '../shared/jobspec/index.js';
import { LmdbStore } from '../scheduler/store/index.js';
import { call, round, sleep, startScheduler, uuidFor } from './parts.js';
import { processCpuMs } from './suite.js';
import { run } from './jobs.js';

export function prefill(dataDir: string, count: number): Promise<{ states: Record<string, number>; ms: number; usageEntries: number }> {
  const withUsage = process.env.GANTRY_BENCH_NO_USAGE !== '1';
  let usageEntries = 0;
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
  let usage: UsageEntry[] = [];
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
          ...(withUsage ? { placedMs: base + i * 1000 + 4_000, startedMs: base + i * 1000 + 5_000, ...(state === 'running' ? {} : { endedMs: base + i * 1000 + 600_000 }) } : {}),
        }))
      : [];
    const submitted = base + i * 1000;
    const job: JobRecord = {
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
    };
    batch.push(job);
    if (withUsage) for (const r of ranks) usage.push(rankEntry(job, r));
    if (batch.length === 5000) {
      usageEntries += usage.length;
      batches.push(store.commit({ jobs: batch, usage }));
      batch = [];
      usage = [];
    }
  }
  usageEntries += usage.length;
  if (batch.length) batches.push(store.commit({ jobs: batch, usage }));
  return Promise.all(batches)
    .then(() => store.close())
    .then(() => ({ states, ms: round(performance.now() - t0), usageEntries }));
}

export async function timeRestart(dataDir: string, probeId: string): Promise<{ runningLogMs: number; servingMs: number; cpuMsToServing: number; jobsLoaded: number }> {
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
