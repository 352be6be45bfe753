/** (submit): SubmitJob accepted per second from concurrent gRPC clients, with latency (see bench/jobs.ts). */
import { performance } from 'node:perf_hooks';
import { schedulerClient, unaryCall } from '../shared/cli/client.js';
import { round, type Sched } from './parts.js';
import { percentile } from './suite.js';

export async function submitRate(s: Sched, total: number, clients: number): Promise<{ accepted: number; refused: number; perSecond: number; p50Ms: number; p99Ms: number; wallMs: number }> {
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
          await unaryCall(client, client.SubmitJob as never, { spec, owner: '' }, 30_000);
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
