/**
 * The HA benchmark's rig (bench/ha.ts, bench/ha-cost.ts): three nats-servers clustered on loopback,
 * `gantry scheduler` processes with ha.enabled on them, real agents (fleet processes) given every
 * scheduler's address, and what the scenarios measure with:
 * - a submit stream: one SubmitJob every `everyMs` (each with its own request id, retried at
 *   whichever scheduler answers until accepted), jobs of 1-4 ranks that run a moment;
 * - a term watch: every scheduler's GetControlPlane 4 times a second, so every change of leader
 *   (a new term) is seen with its time;
 * - the ranks' own start log: every rank appends "job rank epoch" to one file when its process
 *   starts, so a rank started twice in one epoch shows as two lines.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { schedulerClient, unaryCall } from '../shared/cli/client.js';
import type { SchedulerServiceClient } from '../shared/proto/index.js';
import { freePort, startNatsCluster, stopProcessesMentioning, removeCgroupTree, type NatsCluster } from '../shared/procs/index.js';
import { fleetCgroupRoot, startFleet, type Fleet } from './jobs-fleet.js';
import { sleep, startScheduler, type Sched } from './parts.js';

/** A job spec whose ranks append "<job> <rank> <epoch>" to `log` when they start, then run `seconds`. */
export function loggedSpec(name: string, log: string, ranks: number, gpusPerRank: number, seconds: number): string {
  const script = `echo "$GANTRY_JOB_ID $RANK $GANTRY_JOB_EPOCH" >> ${log}; sleep ${seconds}`;
  return JSON.stringify({ kind: 'Training', name, ranks, gpusPerRank, command: ['/bin/sh', '-c', script], maxRetries: 0 });
}

/** One call at one address; undefined when it is refused or times out. */
export async function callAt<Res>(address: string, method: keyof SchedulerServiceClient, req: object, timeoutMs = 2000): Promise<Res | undefined> {
  const c: SchedulerServiceClient = schedulerClient(address);
  try {
    return await unaryCall<object, Res>(c, c[method] as never, req, timeoutMs);
  } catch {
    return undefined;
  } finally {
    c.close();
  }
}

export async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs: number, everyMs = 50): Promise<T> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await sleep(everyMs)) {
    const v = await f();
    if (v !== undefined) return v;
  }
  throw new Error(`ha bench: no ${what} within ${timeoutMs} ms`);
}

export interface HaRigOptions {
  ttlMs: number;
  agents: number;
  /** ha.enabled schedulers (default 2). */
  schedulers?: number;
  log: (line: string) => void;
  /** Extra scheduler flags. */
  extra?: string[];
}

export interface HaRig {
  readonly root: string;
  readonly nats: NatsCluster;
  /** The schedulers; a killed one is replaced in place by restart(i). */
  readonly scheds: Sched[];
  readonly fleet: Fleet;
  /** The ranks' start log (see loggedSpec). */
  readonly startsLog: string;
  /** The index of the scheduler that serves (the leader), or undefined. */
  leader(): Promise<number | undefined>;
  restart(i: number): Promise<void>;
  /** Ready nodes as scheduler i sees them (-1 when it does not serve). */
  readyNodes(i: number): Promise<number>;
  /**
   * Ready nodes whose agent scheduler i heard from (a registration or a report) at or after sinceMs
   * (-1 when it does not serve). Not registered_unix_ms, which keeps a node's first registration,
   * nor the ready count, which a new leader has from the replicated state before any agent calls.
   */
  registeredSince(i: number, sinceMs: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startHaRig(o: HaRigOptions): Promise<HaRig> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'gantry-bench-ha-'));
  const startsLog = path.join(root, 'rank-starts.log');
  writeFileSync(startsLog, '');
  const nats = await startNatsCluster({ bin: 'nats-server', storeRoot: root, clusterName: 'gantry-bench' });
  const ports: number[] = [];
  for (let i = 0; i < (o.schedulers ?? 2); i++) ports.push(await freePort());
  const start = (i: number): Promise<Sched> =>
    startScheduler(path.join(root, `sched-${i}`), {
      readyLog: 'scheduler standby',
      grpcPort: ports[i],
      extra: ['--set', 'nats.enabled=true', '--nats-url', nats.urls.join(','), '--set', 'ha.enabled=true', '--set', `ha.leaseTtlMs=${o.ttlMs}`, '--set', 'ha.followIntervalMs=200', '--set', 'telemetry.enabled=false', '--lost-after-ms', '15000', '--report-interval-ms', '1000', ...(o.extra ?? [])],
    });
  const scheds: Sched[] = [];
  for (let i = 0; i < ports.length; i++) scheds.push(await start(i));
  const registeredSince = async (i: number, sinceMs: number): Promise<number> => {
    const r = await callAt<{ nodes: Array<{ connectivity: string; lastSeenUnixMs: string | number }> }>(scheds[i]!.address, 'ListNodes', {});
    return r ? r.nodes.filter((n) => n.connectivity === 'CONNECTIVITY_READY' && Number(n.lastSeenUnixMs) >= sinceMs).length : -1;
  };
  const readyNodes = (i: number): Promise<number> => registeredSince(i, 0);
  const leader = async (): Promise<number | undefined> => {
    for (let i = 0; i < scheds.length; i++) if ((await readyNodes(i)) >= 0) return i;
    return undefined;
  };
  const fleet = await startFleet(root, scheds.map((s) => s.address).join(','), o.agents, 'ha', o.log);
  const first = await until('leader', leader, 30_000);
  await until('every agent registered', async () => ((await readyNodes(first)) === o.agents ? true : undefined), 180_000, 200);
  return {
    root,
    nats,
    scheds,
    fleet,
    startsLog,
    leader,
    readyNodes,
    registeredSince,
    async restart(i) {
      scheds[i] = await start(i);
    },
    async stop() {
      await fleet.stop();
      for (const s of scheds) await s.stop().catch(() => undefined);
      await nats.stop();
      await stopProcessesMentioning(path.basename(root), 0);
      await removeCgroupTree(fleetCgroupRoot(root));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * One SubmitJob every everyMs while running, each with its own request id, retried (every 100 ms,
 * at every scheduler in turn) until one accepts it. Accepted ids and times are kept.
 */
export class SubmitStream {
  /** request id → the job id the scheduler gave, and when it was accepted (Unix ms). */
  readonly accepted = new Map<string, { id: string; atMs: number }>();
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly rig: HaRig,
    private readonly everyMs = 100,
  ) {}

  start(): void {
    this.done = (async () => {
      for (let k = 0; !this.stopped; k++) {
        const requestId = randomUUID();
        const spec = loggedSpec(`ha-${k}`, this.rig.startsLog, 1 + (k % 4), 1 + (k % 2), 1 + (k % 3));
        for (let tries = 0; tries < 600 && !this.stopped; tries++) {
          let job: { id: string } | undefined;
          for (const s of this.rig.scheds) if ((job = await callAt<{ id: string }>(s.address, 'SubmitJob', { spec, owner: '', requestId }))) break;
          if (job) {
            this.accepted.set(requestId, { id: job.id, atMs: Date.now() });
            break;
          }
          await sleep(100);
        }
        await sleep(this.everyMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  /** The longest time without an accepted submit within [fromMs, toMs]. */
  longestGapMs(fromMs: number, toMs: number): number {
    const times = [fromMs, ...[...this.accepted.values()].map((a) => a.atMs).filter((t) => t > fromMs && t < toMs).sort((a, b) => a - b), toMs];
    let gap = 0;
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
    return gap;
  }

  acceptedBetween(fromMs: number, toMs: number): number {
    return [...this.accepted.values()].filter((a) => a.atMs >= fromMs && a.atMs < toMs).length;
  }
}

/** Every scheduler's GetControlPlane 4 times a second: each leader term seen, and when first seen. */
export class TermWatch {
  readonly terms: Array<{ term: number; leader: string; seenAtMs: number }> = [];
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly rig: HaRig) {}

  start(): void {
    this.done = (async () => {
      while (!this.stopped) {
        for (const s of this.rig.scheds) {
          const m = await callAt<{ role: string; term: string | number; schedulerId: string }>(s.address, 'GetControlPlane', {}, 1000);
          const term = Number(m?.term ?? 0);
          if (m?.role === 'leader' && !this.terms.some((t) => t.term === term)) this.terms.push({ term, leader: m.schedulerId, seenAtMs: Date.now() });
        }
        await sleep(250);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  /** Leader changes first seen within [fromMs, toMs]: new terms, not the one the watch found at its start. */
  changesBetween(fromMs: number, toMs: number): number {
    return this.terms.slice(1).filter((t) => t.seenAtMs >= fromMs && t.seenAtMs < toMs).length;
  }
}

/** From the ranks' start log: starts, ranks started more than once in one epoch, and in any epoch. */
export function rankStarts(log: string): { starts: number; startedTwiceInOneEpoch: number; rerunInLaterEpoch: number } {
  const byEpoch = new Map<string, number>();
  const epochs = new Map<string, Set<string>>();
  let starts = 0;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const [job, rank, epoch] = line.trim().split(' ');
    if (!job || rank === undefined || epoch === undefined) continue;
    starts++;
    byEpoch.set(line.trim(), (byEpoch.get(line.trim()) ?? 0) + 1);
    const key = `${job} ${rank}`;
    epochs.set(key, (epochs.get(key) ?? new Set()).add(epoch));
  }
  return {
    starts,
    startedTwiceInOneEpoch: [...byEpoch.values()].filter((n) => n > 1).length,
    rerunInLaterEpoch: [...epochs.values()].filter((s) => s.size > 1).length,
  };
}

/**
 * Submits a gang (retried with one request id at every scheduler until accepted) and waits until
 * it runs: the time from `sinceMs` to its running state, as the scheduler that accepted it says.
 */
export async function gangRunningMs(rig: HaRig, name: string, ranks: number, gpusPerRank: number, sinceMs: number, timeoutMs = 120_000): Promise<number> {
  const requestId = randomUUID();
  const spec = loggedSpec(name, rig.startsLog, ranks, gpusPerRank, 2);
  const end = Date.now() + timeoutMs;
  let job: { id: string } | undefined;
  let at = '';
  while (!job && Date.now() < end) {
    for (const s of rig.scheds) {
      if ((job = await callAt<{ id: string }>(s.address, 'SubmitJob', { spec, owner: '', requestId }))) {
        at = s.address;
        break;
      }
    }
    if (!job) await sleep(20);
  }
  if (!job) throw new Error(`ha bench: gang ${name} not accepted within ${timeoutMs} ms`);
  while (Date.now() < end) {
    let got: { state: string; message: string } | undefined;
    for (const address of [at, ...rig.scheds.map((s) => s.address)]) if ((got = await callAt<{ state: string; message: string }>(address, 'GetJob', { id: job.id }, 1000))) break;
    if (got?.state === 'running' || got?.state === 'succeeded') return Date.now() - sinceMs;
    if (got?.state === 'failed' || got?.state === 'cancelled') throw new Error(`ha bench: gang ${name} ${got.state}: ${got.message}`);
    await sleep(25);
  }
  throw new Error(`ha bench: gang ${name} not running within ${timeoutMs} ms`);
}
