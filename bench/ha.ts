/**
 * `npm run bench -- ha`: a high-availability control plane (issue 21, point 5), through the
 * product's entry points: three nats-servers clustered on loopback, two `gantry scheduler`
 * processes with ha.enabled, `--ha-agents` real agents (fleet processes, given both scheduler
 * addresses) and the gRPC API. The rig and its probes are in ha-parts.ts. Throughout: a steady
 * stream of submits (one every 100 ms with 64 agents, proportionally fewer with fewer; jobs of 1-4
 * ranks × 1-2 GPUs running 1-3 s, about 15% of the GPUs busy; each retried with its own request id
 * across failovers), every leader term watched, every rank's start logged.
 *
 * - (h) kill: the leader is killed with SIGKILL `--ha-runs` times (10; 3 with --quick). From the
 *   kill: the first SubmitJob the new leader accepts; the first new gang (4 ranks × 8 GPUs)
 *   running; every agent registered with it again. The killed scheduler is restarted as a standby.
 *   Then the leader is stopped (SIGSTOP) for two TTLs and continued: the other's takeover, and the
 *   woken one back as a standby (its writes refused by term; ranks started twice are counted below).
 * - (h) steady: `--ha-steady-s` seconds (600; 60 with --quick) with the same stream and TTL and no
 *   fault: leader changes (there should be none).
 * - (h) nats: each of the three nats-servers in turn is killed with SIGKILL for 20 s during the
 *   stream, then restarted: the longest time without an accepted submit, submits accepted during
 *   the outage, a gang started during it, leader changes.
 * - (h) cost: submit throughput and the 512-rank gang start, HA off and on (ha-cost.ts).
 * Over all of kill, steady and nats: acknowledged submits lost, duplicate jobs from retried
 * submits, ranks started twice in one epoch. `--ha-ttl-ms` sets the lease TTL (default 3000).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../shared/procs/index.js';
import { haCost } from './ha-cost.js';
import { callAt, gangRunningMs, rankStarts, startHaRig, SubmitStream, TermWatch, until, type HaRig } from './ha-parts.js';
import { sleep } from './parts.js';
import { percentile, type BenchOptions, type BenchRow, type BenchSuite, type SuiteResult } from './suite.js';

const max = (xs: number[]): number => (xs.length ? Math.max(...xs) : NaN);

async function killRuns(rig: HaRig, runs: number, agents: number, log: (l: string) => void): Promise<{ failoverMs: number[]; gangMs: number[]; reregisteredMs: number[]; gangFailures: string[] }> {
  const gangFailures: string[] = [];
  const resultsDir = path.join(packageRoot(), 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const failoverMs: number[] = [];
  const gangMs: number[] = [];
  const reregisteredMs: number[] = [];
  let leader = await until('leader', () => rig.leader(), 30_000);
  for (let r = 0; r < runs; r++) {
    const other = 1 - leader;
    const killedAt = Date.now();
    rig.scheds[leader]!.child.proc.kill('SIGKILL');
    const gang = gangRunningMs(rig, `probe-gang-${r}`, 4, 8, killedAt).catch((e: Error) => {
      gangFailures.push(e.message);
      writeFileSync(path.join(resultsDir, `ha-gang-failure-${r}.log`), rig.scheds[other]!.child.output());
      return NaN;
    });
    await until('a submit at the new leader', async () => ((await callAt(rig.scheds[other]!.address, 'SubmitJob', { spec: JSON.stringify({ kind: 'Training', name: `probe-${r}`, ranks: 1, gpusPerRank: 1, command: ['/bin/true'] }), owner: '' })) ? true : undefined), 60_000, 20);
    failoverMs.push(Date.now() - killedAt);
    const g = await gang;
    if (Number.isFinite(g)) gangMs.push(g);
    await until('every agent re-registered', async () => ((await rig.registeredSince(other, killedAt)) === agents ? true : undefined), 120_000, 100);
    reregisteredMs.push(Date.now() - killedAt);
    log(`  kill ${r + 1}: first submit at the new leader ${failoverMs.at(-1)} ms, first new gang ${Number.isFinite(g) ? `running ${g} ms` : `FAILED (${gangFailures.at(-1)})`}, all ${agents} agents ready ${reregisteredMs.at(-1)} ms after the kill`);
    await rig.restart(leader);
    leader = other;
    await sleep(3000); // the restarted standby caught up
  }
  return { failoverMs, gangMs, reregisteredMs, gangFailures };
}

/**
 * The leader stopped (SIGSTOP) for two lease TTLs, then continued (SIGCONT): when the other took
 * over, and how long the woken one took to see it is deposed and answer as a standby.
 */
async function pausedLeader(rig: HaRig, ttlMs: number, log: (l: string) => void): Promise<{ takeoverMs: number; standbyAfterContMs: number }> {
  const leader = await until('leader', () => rig.leader(), 30_000);
  const other = 1 - leader;
  const pid = rig.scheds[leader]!.child.proc.pid!;
  const stoppedAt = Date.now();
  process.kill(pid, 'SIGSTOP');
  const takeoverMs = await until('a leader while the old one is stopped', async () => ((await rig.readyNodes(other)) >= 0 ? Date.now() - stoppedAt : undefined), 60_000, 20);
  await sleep(Math.max(0, 2 * ttlMs - (Date.now() - stoppedAt)));
  const contAt = Date.now();
  process.kill(pid, 'SIGCONT');
  const standbyAfterContMs = await until(
    'the woken leader a standby',
    async () => {
      const m = await callAt<{ role: string }>(rig.scheds[leader]!.address, 'GetControlPlane', {}, 1000);
      return m?.role === 'standby' ? Date.now() - contAt : undefined;
    },
    60_000,
    20,
  );
  log(`  paused leader: the other led ${takeoverMs} ms after SIGSTOP; ${standbyAfterContMs} ms after SIGCONT the woken one answered as a standby`);
  return { takeoverMs, standbyAfterContMs };
}

interface Outage {
  server: string;
  gapMs: number;
  acceptedDuringOutage: number;
  gangRunningMs: number;
  leaderChanges: number;
  gapAfterRestartMs: number;
}

async function natsOutages(rig: HaRig, stream: SubmitStream, terms: TermWatch, log: (l: string) => void): Promise<Outage[]> {
  const out: Outage[] = [];
  for (const [i, server] of rig.nats.servers.entries()) {
    const killedAt = Date.now();
    server.kill();
    const gang = await gangRunningMs(rig, `nats-gang-${i}`, 4, 8, killedAt);
    await sleep(Math.max(0, 20_000 - (Date.now() - killedAt)));
    const restartedAt = Date.now();
    await server.restart();
    await sleep(15_000);
    const o: Outage = {
      server: server.name,
      gapMs: stream.longestGapMs(killedAt, restartedAt),
      acceptedDuringOutage: stream.acceptedBetween(killedAt, restartedAt),
      gangRunningMs: gang,
      leaderChanges: terms.changesBetween(killedAt, Date.now()),
      gapAfterRestartMs: stream.longestGapMs(restartedAt, Date.now()),
    };
    out.push(o);
    log(`  ${server.name} killed for 20 s: longest gap without an accepted submit ${o.gapMs} ms (${o.acceptedDuringOutage} accepted meanwhile), a gang running ${o.gangRunningMs} ms after the kill, ${o.leaderChanges} leader change(s); after its restart the longest gap ${o.gapAfterRestartMs} ms`);
  }
  return out;
}

async function run(o: BenchOptions): Promise<SuiteResult> {
  const ttlMs = Number(o.params['ha-ttl-ms'] ?? 3000);
  const runs = Number(o.params['ha-runs'] ?? (o.quick ? 3 : 10));
  const agents = Number(o.params['ha-agents'] ?? (o.quick ? 8 : 64));
  const steadyS = Number(o.params['ha-steady-s'] ?? (o.quick ? 60 : 600));
  const want = (label: string): boolean => o.only.length === 0 || o.only.some((x) => label.startsWith(x));
  const rows: BenchRow[] = [];
  const details: Record<string, unknown> = { ttlMs, agents };
  const tag = `(h) TTL ${ttlMs} ms, ${agents} agents`;
  if (want('(h) kill') || want('(h) steady') || want('(h) nats')) {
    const rig = await startHaRig({ ttlMs, agents, log: o.log });
    const stream = new SubmitStream(rig, Math.max(100, Math.round(6400 / agents)));
    const terms = new TermWatch(rig);
    try {
      stream.start();
      terms.start();
      if (want('(h) steady')) {
        const from = Date.now();
        o.log(`  steady: ${steadyS} s without a fault`);
        await sleep(steadyS * 1000);
        const changes = terms.changesBetween(from + 1, Date.now());
        const accepted = stream.acceptedBetween(from, Date.now());
        rows.push({ scenario: `${tag}: steady, ${steadyS} s of submits and running gangs`, metric: `leader changes (${accepted} submits accepted)`, value: changes, unit: 'changes', target: '0', ok: changes === 0 });
        details.steady = { seconds: steadyS, leaderChanges: changes, accepted, longestGapMs: stream.longestGapMs(from, Date.now()) };
      }
      if (want('(h) kill')) {
        const k = await killRuns(rig, runs, agents, o.log);
        const row = (metric: string, xs: number[], target?: string): void => {
          rows.push({ scenario: `${tag}: leader kill -9, ${runs} runs`, metric: `${metric}, median / max`, value: `${percentile(xs, 50)} / ${max(xs)}`, unit: 'ms', ...(target ? { target, ok: max(xs) <= 5000 } : {}) });
        };
        row('first submit at the new leader', k.failoverMs, '≤ 5,000');
        row('first new gang (4 × 8 GPUs) running', k.gangMs);
        row(`all ${agents} agents re-registered`, k.reregisteredMs);
        rows.push({ scenario: `${tag}: leader kill -9, ${runs} runs`, metric: 'new gangs that failed instead of running (the new leader\'s log in bench/results/ha-gang-failure-N.log)', value: k.gangFailures.length, unit: 'gangs', target: '0', ok: k.gangFailures.length === 0 });
        rows.at(-4)!.anchor = 'Kubernetes lease 15 s; Slurm SlurmctldTimeout 120 s';
        details.kill = { runs, ...k };
        const p = await pausedLeader(rig, ttlMs, o.log);
        rows.push({ scenario: `${tag}: leader SIGSTOP for 2 TTLs, then SIGCONT`, metric: 'the other leads after SIGSTOP; the woken one a standby after SIGCONT', value: `${p.takeoverMs}; ${p.standbyAfterContMs}`, unit: 'ms' });
        details.paused = p;
      }
      if (want('(h) nats')) {
        const outages = await natsOutages(rig, stream, terms, o.log);
        rows.push({ scenario: `${tag}: each nats-server of 3 killed for 20 s`, metric: 'longest time without an accepted submit, per server', value: outages.map((x) => x.gapMs).join(' / '), unit: 'ms' });
        rows.push({ scenario: `${tag}: each nats-server of 3 killed for 20 s`, metric: 'submits accepted during the outage; a new gang running after the kill', value: `${outages.map((x) => x.acceptedDuringOutage).join(' / ')}; ${outages.map((x) => x.gangRunningMs).join(' / ')} ms`, unit: '' });
        rows.push({ scenario: `${tag}: each nats-server of 3 killed for 20 s`, metric: 'leader changes, per server', value: outages.map((x) => x.leaderChanges).join(' / '), unit: 'changes' });
        details.nats = outages;
      }
    } finally {
      await stream.stop();
      await terms.stop();
    }
    // Over everything above: every accepted submit is there, once; no rank started twice.
    const leader = await until('leader', () => rig.leader(), 30_000);
    const jobs = (await callAt<{ jobs: Array<{ id: string }> }>(rig.scheds[leader]!.address, 'ListJobs', {}, 60_000))?.jobs ?? [];
    const ids = new Set(jobs.map((j) => j.id));
    const lost = [...stream.accepted.values()].filter((a) => !ids.has(a.id)).length;
    const streamJobs = jobs.filter((j) => /^ha-\d+-\d+$/.test(j.id));
    const duplicates = streamJobs.length - new Set(streamJobs.map((j) => j.id.replace(/-\d+$/, ''))).size;
    await sleep(5000); // the last ranks have written their start lines
    const starts = rankStarts(rig.startsLog);
    await rig.stop();
    rows.push({ scenario: `${tag}: over all of the above`, metric: `acknowledged submits lost (of ${stream.accepted.size})`, value: lost, unit: 'jobs', target: '0', ok: lost === 0 });
    rows.push({ scenario: `${tag}: over all of the above`, metric: 'duplicate jobs from retried submits', value: duplicates, unit: 'jobs', target: '0', ok: duplicates === 0 });
    rows.push({ scenario: `${tag}: over all of the above`, metric: `ranks started twice in one epoch (of ${starts.starts} starts; ranks run again in a later epoch: ${starts.rerunInLaterEpoch})`, value: starts.startedTwiceInOneEpoch, unit: 'ranks', target: '0', ok: starts.startedTwiceInOneEpoch === 0 });
    details.overall = { accepted: stream.accepted.size, lost, duplicates, ...starts, leaderTerms: terms.terms };
  }
  if (want('(h) cost')) {
    const c = await haCost(o, ttlMs);
    rows.push(...c.rows);
    details.cost = c.details;
  }
  return { rows, details };
}

export const haSuite: BenchSuite = {
  name: 'ha',
  description: 'high availability: leader kill -9, a steady run, nats-server outages (3 clustered nats-servers, 2 schedulers, agents following the leader), and the cost of HA on submits and a 512-rank gang',
  run,
};
