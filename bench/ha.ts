/**
 * `npm run bench -- ha`: a high-availability control plane's failover (issue 21, point 5), through
 * the product's entry points: three nats-servers clustered on loopback, two `gantry scheduler`
 * processes with ha.enabled, `--ha-agents` real agents (fleet processes, given both scheduler
 * addresses) and the gRPC API.
 *
 * Each run: a steady stream of SubmitJob calls (one every 100 ms, each with its own request id,
 * retried across the failover) goes to whichever scheduler leads; the leader is killed with
 * SIGKILL; measured from the kill: the first SubmitJob the new leader accepts, every agent
 * registered with it again. The killed scheduler is restarted (as a standby) before the next run.
 * Over all runs: acknowledged submits lost (an accepted id missing at the end), and duplicate jobs
 * (two jobs of one request id). `--ha-ttl-ms` sets the lease TTL (default 3000), `--ha-runs` the
 * number of kills (default 10; 3 with --quick).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { schedulerClient, unaryCall } from '../shared/cli/client.js';
import type { SchedulerServiceClient } from '../shared/proto/index.js';
import { freePort, startChild, type Child } from '../shared/procs/index.js';
import { startFleet } from './jobs-fleet.js';
import { startScheduler, type Sched } from './parts.js';
import { percentile, type BenchOptions, type BenchRow, type BenchSuite } from './suite.js';

const SPEC = (name: string): string => `kind: Training\nname: ${name}\nranks: 1\ngpusPerRank: 1\ncommand: ["/bin/true"]\n`;

interface NatsCluster {
  urls: string[];
  stop(): Promise<void>;
}

async function startNatsCluster(root: string, n: number): Promise<NatsCluster> {
  const ports: Array<{ client: number; route: number }> = [];
  for (let i = 0; i < n; i++) ports.push({ client: await freePort(), route: await freePort() });
  const routes = ports.map((p) => `nats://127.0.0.1:${p.route}`).join(',');
  const children: Child[] = ports.map((p, i) => {
    const store = path.join(root, `nats-${i + 1}`);
    mkdirSync(store, { recursive: true });
    return startChild(`nats-${i + 1}`, 'nats-server', ['-a', '127.0.0.1', '-p', String(p.client), '-n', `bench-n${i + 1}`, '-js', '-sd', store, '--cluster_name', 'gantry-bench', '--cluster', `nats://127.0.0.1:${p.route}`, '--routes', routes]);
  });
  await new Promise((r) => setTimeout(r, 3000)); // the JetStream meta leader is elected
  return { urls: ports.map((p) => `nats://127.0.0.1:${p.client}`), stop: async () => void (await Promise.all(children.map((c) => c.stop(5000)))) };
}

async function submit(address: string, requestId: string, name: string): Promise<string | undefined> {
  const c: SchedulerServiceClient = schedulerClient(address);
  try {
    const job = await unaryCall<object, { id: string }>(c, c.SubmitJob as never, { spec: SPEC(name), owner: '', requestId }, 2000);
    return job.id;
  } catch {
    return undefined;
  } finally {
    c.close();
  }
}

async function readyNodes(address: string): Promise<number> {
  const c: SchedulerServiceClient = schedulerClient(address);
  try {
    const r = await unaryCall<object, { nodes: Array<{ connectivity: string }> }>(c, c.ListNodes as never, {}, 2000);
    return r.nodes.filter((n) => n.connectivity === 'CONNECTIVITY_READY').length;
  } catch {
    return -1;
  } finally {
    c.close();
  }
}

async function leaderOf(scheds: Sched[]): Promise<number | undefined> {
  for (let i = 0; i < scheds.length; i++) if ((await readyNodes(scheds[i]!.address)) >= 0) return i;
  return undefined;
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs: number, everyMs = 50): Promise<T> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, everyMs))) {
    const v = await f();
    if (v !== undefined) return v;
  }
  throw new Error(`ha bench: no ${what} within ${timeoutMs} ms`);
}

async function run(o: BenchOptions): Promise<{ rows: BenchRow[]; details: Record<string, unknown> }> {
  const ttlMs = Number(o.params['ha-ttl-ms'] ?? 3000);
  const runs = Number(o.params['ha-runs'] ?? (o.quick ? 3 : 10));
  const agents = Number(o.params['ha-agents'] ?? (o.quick ? 8 : 64));
  const root = mkdtempSync(path.join(os.tmpdir(), 'gantry-bench-ha-'));
  const nats = await startNatsCluster(root, 3);
  const ports = [await freePort(), await freePort()];
  const start = (i: number): Promise<Sched> =>
    startScheduler(path.join(root, `sched-${i}`), {
      readyLog: 'scheduler standby',
      grpcPort: ports[i],
      extra: ['--set', 'nats.enabled=true', '--nats-url', nats.urls.join(','), '--set', 'ha.enabled=true', '--set', `ha.leaseTtlMs=${ttlMs}`, '--set', 'ha.followIntervalMs=200', '--set', 'telemetry.enabled=false', '--lost-after-ms', '15000', '--report-interval-ms', '1000'],
    });
  const scheds = [await start(0), await start(1)];
  const addresses = scheds.map((s) => s.address).join(',');
  const fleet = await startFleet(root, addresses, agents, 'ha', o.log);
  const failoverMs: number[] = [];
  const reregisteredMs: number[] = [];
  const accepted = new Map<string, string>(); // request id -> job id
  let stop = false;
  const stream = (async () => {
    for (let k = 0; !stop; k++) {
      const requestId = randomUUID();
      for (let tries = 0; tries < 100 && !stop; tries++) {
        let id: string | undefined;
        for (const s of scheds) if ((id = await submit(s.address, requestId, `ha-${k}`))) break;
        if (id) {
          accepted.set(requestId, id);
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    let leader = await until('leader', () => leaderOf(scheds), 30_000);
    await until('every agent registered', async () => ((await readyNodes(scheds[leader]!.address)) === agents ? true : undefined), 120_000, 200);
    for (let r = 0; r < runs; r++) {
      const other = 1 - leader;
      const killedAt = Date.now();
      scheds[leader]!.child.proc.kill('SIGKILL');
      await until('a submit at the new leader', async () => ((await submit(scheds[other]!.address, randomUUID(), `probe-${r}`)) ? true : undefined), 60_000, 20);
      failoverMs.push(Date.now() - killedAt);
      await until('every agent re-registered', async () => ((await readyNodes(scheds[other]!.address)) === agents ? true : undefined), 120_000, 100);
      reregisteredMs.push(Date.now() - killedAt);
      o.log(`  run ${r + 1}: new leader accepted a submit ${failoverMs.at(-1)} ms after the kill; all ${agents} agents ready ${reregisteredMs.at(-1)} ms after`);
      scheds[leader] = await start(leader);
      leader = other;
    }
  } finally {
    stop = true;
    await stream;
  }
  const leader = await until('leader', () => leaderOf(scheds), 30_000);
  const c = schedulerClient(scheds[leader]!.address);
  const jobs = (await unaryCall<object, { jobs: Array<{ id: string; name?: string }> }>(c, c.ListJobs as never, {}, 30_000)).jobs;
  c.close();
  const ids = new Set(jobs.map((j) => j.id));
  const lost = [...accepted.values()].filter((id) => !ids.has(id)).length;
  const streamJobs = jobs.filter((j) => /^ha-\d+-\d+$/.test(j.id));
  const duplicates = streamJobs.length - new Set(streamJobs.map((j) => j.id.replace(/-\d+$/, ''))).size;
  await fleet.stop();
  for (const s of scheds) await s.stop().catch(() => undefined);
  await nats.stop();
  rmSync(root, { recursive: true, force: true });
  const rows: BenchRow[] = [
    { scenario: `(h) leader kill -9, TTL ${ttlMs} ms`, metric: `first submit at the new leader, median of ${runs}`, value: percentile(failoverMs, 50), unit: 'ms', target: '<= 5000', ok: percentile(failoverMs, 50) <= 5000, anchor: 'Kubernetes lease 15 s; Slurm SlurmctldTimeout 120 s' },
    { scenario: `(h) leader kill -9, TTL ${ttlMs} ms`, metric: 'first submit at the new leader, max', value: Math.max(...failoverMs), unit: 'ms', target: '<= 5000', ok: Math.max(...failoverMs) <= 5000 },
    { scenario: `(h) leader kill -9, TTL ${ttlMs} ms`, metric: `all ${agents} agents re-registered, median`, value: percentile(reregisteredMs, 50), unit: 'ms' },
    { scenario: `(h) leader kill -9, TTL ${ttlMs} ms`, metric: 'all agents re-registered, max', value: Math.max(...reregisteredMs), unit: 'ms' },
    { scenario: '(h) over all runs', metric: `acknowledged submits lost (of ${accepted.size})`, value: lost, unit: 'jobs', target: '0', ok: lost === 0 },
    { scenario: '(h) over all runs', metric: 'duplicate jobs from retried submits', value: duplicates, unit: 'jobs', target: '0', ok: duplicates === 0 },
  ];
  return { rows, details: { ttlMs, runs, agents, failoverMs, reregisteredMs, accepted: accepted.size, lost, duplicates } };
}

export const haSuite: BenchSuite = {
  name: 'ha',
  description: 'high availability: leader kill -9 on 3 clustered nats-servers, 2 schedulers, agents following the leader',
  run,
};
