/**
 * `npm run bench -- ha --only "(h) cost"`: what high availability costs (issue 21, point 5), HA off
 * and on in the same run, through the same scenarios as `npm run bench -- jobs`:
 * - (submit): SubmitJob accepted per second from 16 clients, 8 agents all cordoned so every job
 *   stays pending (bench/jobs-submit.ts);
 * - (gang): a G-rank gang × 8 GPUs on G agents, submit → every rank running (bench/jobs-gang.ts).
 * "off" is the default single scheduler (local LMDB, NATS off, as `npm run bench -- jobs`); "on" is
 * the leader of two ha.enabled schedulers on three clustered nats-servers (every state change an
 * R3 append acknowledged by a quorum before it counts), the agents given both addresses. Each
 * measurement gets fresh schedulers (and fresh nats-servers), so no pending job of one is in the
 * next one's queue.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, removeCgroupTree, startNatsCluster, stopProcessesMentioning, type NatsCluster } from '../shared/procs/index.js';
import { fleetCgroupRoot, startFleet, waitNodesReady, WARM_PER_AGENT, type Fleet } from './jobs-fleet.js';
import { runGang, waitWarmPools, type GangResult } from './jobs-gang.js';
import { submitRate } from './jobs-submit.js';
import { until } from './ha-parts.js';
import { call, startScheduler, type Sched } from './parts.js';
import type { BenchOptions, BenchRow } from './suite.js';

type Mode = 'off' | 'on';

interface Plane {
  leader: Sched;
  /** What agents and clients are given: one address, or every scheduler's. */
  addresses: string;
  stop(): Promise<void>;
}

async function startPlane(mode: Mode, root: string, tag: string, ttlMs: number): Promise<Plane> {
  const dir = path.join(root, tag);
  if (mode === 'off') {
    const s = await startScheduler(path.join(dir, 'sched'));
    return { leader: s, addresses: s.address, stop: () => s.stop() };
  }
  const nats: NatsCluster = await startNatsCluster({ bin: 'nats-server', storeRoot: dir, clusterName: `gantry-cost-${tag}` });
  const scheds: Sched[] = [];
  for (let i = 0; i < 2; i++) {
    scheds.push(
      await startScheduler(path.join(dir, `sched-${i}`), {
        readyLog: 'scheduler standby',
        grpcPort: await freePort(),
        extra: ['--set', 'nats.enabled=true', '--nats-url', nats.urls.join(','), '--set', 'ha.enabled=true', '--set', `ha.leaseTtlMs=${ttlMs}`, '--set', 'telemetry.enabled=false'],
      }),
    );
  }
  const leader = await until(
    'leader',
    async () => {
      for (const s of scheds) if (await call(s, 'ListNodes', {}, 1000).then(() => true, () => false)) return s;
      return undefined;
    },
    30_000,
  );
  return {
    leader,
    addresses: scheds.map((s) => s.address).join(','),
    async stop() {
      for (const s of scheds) await s.stop();
      await nats.stop();
    },
  };
}

export interface CostResult {
  mode: Mode;
  submit: Awaited<ReturnType<typeof submitRate>>;
  gang: GangResult | undefined;
}

export async function haCost(o: BenchOptions, ttlMs: number): Promise<{ rows: BenchRow[]; details: CostResult[] }> {
  const submits = Number(o.params.submits ?? (o.quick ? 1000 : 4000));
  const clients = Number(o.params.clients ?? 16);
  const gangRanks = Number(o.params['ha-gang'] ?? (o.quick ? 64 : 512));
  const root = mkdtempSync(path.join(os.tmpdir(), 'gantry-bench-hacost-'));
  const marker = path.basename(root);
  const results: CostResult[] = [];
  try {
    for (const mode of ['off', 'on'] as Mode[]) {
      // (submit)
      let plane = await startPlane(mode, root, `submit-${mode}`, ttlMs);
      let fleet: Fleet | undefined;
      let submit: CostResult['submit'];
      try {
        fleet = await startFleet(root, plane.addresses, 8, `sub${mode}`, o.log);
        await waitNodesReady(plane.leader, 8, 60_000);
        for (const n of fleet.names) await call(plane.leader, 'CordonNode', { name: n, reason: 'benchmark: keep submitted jobs pending' });
        await submitRate(plane.leader, 100, clients);
        submit = await submitRate(plane.leader, submits, clients);
        o.log(`  HA ${mode}: ${submit.perSecond} submits/s, p50 ${submit.p50Ms} ms, p99 ${submit.p99Ms} ms`);
      } finally {
        await fleet?.stop();
        await plane.stop();
      }
      // (gang)
      let gang: GangResult | undefined;
      if (gangRanks > 0) {
        plane = await startPlane(mode, root, `gang-${mode}`, ttlMs);
        fleet = undefined;
        try {
          fleet = await startFleet(root, plane.addresses, gangRanks, `g${mode}`, o.log);
          await waitNodesReady(plane.leader, gangRanks, 180_000);
          await waitWarmPools(marker, fleet, gangRanks * WARM_PER_AGENT, o.log);
          gang = await runGang(plane.leader, fleet, marker, gangRanks, o.log);
          o.log(`  HA ${mode}: ${gangRanks}-rank gang submit → all running ${gang.submitToRunningMs} ms`);
        } finally {
          await fleet?.stop();
          await plane.stop();
        }
      }
      results.push({ mode, submit, gang });
    }
  } finally {
    await stopProcessesMentioning(marker, 0);
    await removeCgroupTree(fleetCgroupRoot(root));
    rmSync(root, { recursive: true, force: true });
  }
  const [off, on] = results as [CostResult, CostResult];
  const rel = (a: number, b: number): string => `${b >= a ? '+' : '−'}${Math.round((100 * Math.abs(b - a)) / Math.max(1, a))}%`;
  const rows: BenchRow[] = [
    { scenario: `(h) cost: ${submits} SubmitJob, ${clients} clients, jobs stay pending`, metric: 'accepted/s, HA off / on (change)', value: `${off.submit.perSecond} / ${on.submit.perSecond} (${rel(off.submit.perSecond, on.submit.perSecond)})`, unit: 'jobs/s', anchor: 'Slurm documents 1,000 submissions/s' },
    { scenario: `(h) cost: ${submits} SubmitJob, ${clients} clients`, metric: 'latency p50 / p99, HA off; on', value: `${off.submit.p50Ms} / ${off.submit.p99Ms}; ${on.submit.p50Ms} / ${on.submit.p99Ms}`, unit: 'ms' },
  ];
  if (off.gang && on.gang) {
    rows.push({
      scenario: `(h) cost: ${gangRanks}-rank gang × 8 GPUs on ${gangRanks} agents`,
      metric: 'submit → all ranks running, HA off / on (change)',
      value: `${off.gang.submitToRunningMs} / ${on.gang.submitToRunningMs} (${rel(off.gang.submitToRunningMs, on.gang.submitToRunningMs)})`,
      unit: 'ms',
      target: '≤ 1,000 each',
      ok: off.gang.submitToRunningMs <= 1000 && on.gang.submitToRunningMs <= 1000,
      anchor: gangRanks >= 512 ? 'KAI-Scheduler 48.7 s (512)' : undefined,
    });
    rows.push({ scenario: `(h) cost: ${gangRanks}-rank gang`, metric: 'submit → placed and committed, HA off / on', value: `${off.gang.phases['submit → placed and committed']} / ${on.gang.phases['submit → placed and committed']}`, unit: 'ms' });
  }
  return { rows, details: results };
}
