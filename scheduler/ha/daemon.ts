/**
 * `gantry scheduler` with `ha.enabled`: one of several schedulers of a cluster, leader or standby.
 *
 * Every scheduler opens the same JetStream objects (the lease bucket, the state stream, the
 * snapshot store) and its own LMDB, and starts as a standby:
 *   standby  serves every API call UNAVAILABLE naming the leader (api/standby.ts), health
 *            NOT_SERVING; applies the state stream's new entries every followIntervalMs; its
 *            elector tries to take the lease.
 *   lead     the elector took the lease (term T): the standby server closes, the replicated store
 *            catches up to the head and appends T's term record (which fences the old leader),
 *            then an ordinary scheduler (main.ts createScheduler) starts on that store, with
 *            `mayAct` = the elector's deadline check before every command to an agent. It loads
 *            the jobs and nodes as a restarted scheduler does, and adopts running gangs as their
 *            agents re-register.
 *   step down the lease is lost (a conflict, or the renew deadline passed) or an append was
 *            refused: writes stop at once (store.follow()), the scheduler is stopped, and the
 *            process is a standby again on a reopened store.
 * Transitions run one at a time, in order.
 *
 * Both roles answer GetControlPlane (`gantry status`) and serve the HA metrics (control-plane.ts)
 * on metrics.listen: the standby from its own small metrics server with the HA registry only, the
 * leader from the scheduler's, which merges the HA registry into its own. One port, one owner at a
 * time: the standby's metrics server is closed (with its gRPC server) before the leader's starts,
 * and the leader's is closed (by its stop) before the next standby's starts. A scrape in between
 * is refused, which Prometheus counts as `up == 0` for one scrape at most.
 */
import { mkdirSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { connect, type NatsConnection } from 'nats';
import type { Clock } from '../../shared/clock/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import type { Daemon, Lifecycle } from '../../shared/lifecycle/index.js';
import type { Logger } from '../../shared/log/index.js';
import { startMetricsServer, type MetricsServer } from '../../shared/metrics/index.js';
import { natsConnectionOptions } from '../../shared/natsconn/index.js';
import { Authenticator } from '../auth/index.js';
import { SERVICE_NAMES, serverTls, startGrpcServer, type GrpcServer } from '../api/server.js';
import { standbyHandlers } from '../api/standby.js';
import type { SchedulerConfig } from '../config.js';
import { createScheduler, type SchedulerDaemon } from '../main.js';
import { LmdbStore } from '../store/index.js';
import { createHaMetrics, type ControlPlaneMember, type ControlPlaneRole } from './control-plane.js';
import { Elector } from './elector.js';
import { KvLeaseStore } from './kv-lease-store.js';
import { leaseOptions } from './lease.js';
import { ReplicatedStore } from './replicated-store.js';
import { ObjectSnapshotStore } from './snapshots.js';
import { JetStreamTermLog } from './term-log.js';

/** The JetStream objects every scheduler of a cluster shares. */
export const HA_NAMES = { leaseBucket: 'gantry_leader', leaseKey: 'scheduler', stream: 'GANTRY_STATE', subject: 'gantry.state', snapshots: 'gantry_state_snapshots' } as const;

export interface HaSchedulerDaemon extends Daemon {
  readonly grpcPort: number;
  /** The port metrics.listen is served on now (the standby's or the leader's server; 0 between). */
  readonly metricsPort: number;
  readonly role: 'standby' | 'leader' | 'none';
  /** What GetControlPlane answers now. */
  member(): ControlPlaneMember;
  reload(): unknown;
}

/** What the lease key holds: who leads and where clients reach it. */
interface Holder {
  id: string;
  address: string;
}

export function createHaScheduler(config: SchedulerConfig, deps: { log: Logger; clock: Clock }): HaSchedulerDaemon {
  const { log, clock } = deps;
  let lifecycle: Lifecycle = 'created';
  let role: 'standby' | 'leader' | 'none' = 'none';
  let nc: NatsConnection | undefined;
  let elector: Elector | undefined;
  let store: ReplicatedStore | undefined;
  let standbyServer: GrpcServer | undefined;
  let followTimer: NodeJS.Timeout | undefined;
  let leader: SchedulerDaemon | undefined;
  let leaderAddress = '';
  let snapshotTimer: NodeJS.Timeout | undefined;
  let standbyMetrics: MetricsServer | undefined;
  let phases: Promise<void> = Promise.resolve();
  let roleSinceUnixMs = clock.nowMs();
  let headSeq = 0;
  let leaderId = '';
  const advertise = config.ha.advertise || `${config.grpc.listen.host}:${config.grpc.listen.port}`;
  const holder: Holder = { id: config.schedulerId, address: advertise };
  const setRole = (r: ControlPlaneRole & typeof role): void => {
    role = r;
    roleSinceUnixMs = clock.nowMs();
  };
  const member = (): ControlPlaneMember => {
    const leads = role === 'leader' && (elector?.isLeader() ?? false);
    const applied = store?.appliedLogSeq() ?? 0;
    return {
      schedulerId: config.schedulerId,
      address: advertise,
      role,
      term: leads ? (elector?.term() ?? 0) : 0,
      roleSinceUnixMs,
      appliedSeq: applied,
      headSeq: leads ? applied : Math.max(headSeq, applied),
      leaderId: leads ? holder.id : leaderId,
      leaderAddress: leads ? holder.address : leaderAddress,
    };
  };
  const haMetrics = createHaMetrics(member);
  let authn: Authenticator | undefined;

  const then = (what: string, f: () => Promise<void>): void => {
    phases = phases.then(f).catch((e: unknown) => log.error({ err: (e as Error).message }, `high availability: ${what} failed`));
  };

  async function openStore(): Promise<ReplicatedStore> {
    mkdirSync(config.dataDir, { recursive: true });
    return new ReplicatedStore({
      log: await JetStreamTermLog.open(nc!, { stream: HA_NAMES.stream, subject: HA_NAMES.subject, replicas: config.ha.replicas, timeoutMs: 5000 }),
      local: LmdbStore.open(config.dataDir),
      snapshots: await ObjectSnapshotStore.open(nc!, { bucket: HA_NAMES.snapshots, replicas: config.ha.replicas, timeoutMs: 5000 }),
      onDeposed: (term) => {
        log.error({ term }, `deposed from term ${term}: another scheduler wrote to the state stream`);
        elector?.stop(true);
        elector?.start();
      },
    });
  }

  async function becomeStandby(): Promise<void> {
    store = await openStore();
    await store.catchUp();
    const tls = serverTls(config.grpc.insecure, config.grpc.tls, 'grpc.tls');
    const h = standbyHandlers(() => leaderAddress, { identify: (call) => authn!.identify(call as never), member });
    standbyServer = await startGrpcServer({
      listen: config.grpc.listen,
      maxReceiveMessageBytes: config.grpc.maxReceiveMessageBytes,
      maxSendMessageBytes: config.grpc.maxSendMessageBytes,
      credentials: tls?.credentials() ?? grpc.ServerCredentials.createInsecure(),
      agent: h.agent,
      scheduler: h.scheduler,
    });
    // One follow at a time: a read that takes long must not pile up a queue of others behind it.
    let following = false;
    const follow = async (): Promise<void> => {
      if (following) return;
      following = true;
      try {
        await store?.catchUp();
        headSeq = (await store?.headSeq()) ?? headSeq;
        const rec = await elector?.holderRecord();
        const h = rec ? (JSON.parse(rec.value) as Partial<Holder>) : {};
        leaderAddress = h.address ?? '';
        leaderId = h.id ?? '';
      } catch (e) {
        log.warn({ err: (e as Error).message }, 'standby: could not follow the state stream');
      } finally {
        following = false;
      }
    };
    followTimer = setInterval(() => void follow(), config.ha.followIntervalMs);
    await follow();
    standbyMetrics = await startMetricsServer(haMetrics.registry, config.metrics.listen);
    setRole('standby');
    log.info({ grpcPort: standbyServer.port, metricsPort: standbyMetrics.port, appliedSeq: store.appliedLogSeq(), leader: leaderAddress || null }, 'scheduler standby');
  }

  async function closeStandby(): Promise<void> {
    if (followTimer) clearInterval(followTimer);
    followTimer = undefined;
    await standbyMetrics?.close();
    standbyMetrics = undefined;
    if (standbyServer) {
      const srv = standbyServer.server;
      await new Promise<void>((resolve) => srv.tryShutdown(() => resolve()));
      standbyServer = undefined;
    }
  }

  async function lead(term: number): Promise<void> {
    if (lifecycle !== 'running' && lifecycle !== 'starting') return;
    if (!elector?.isLeader()) return;
    const t0 = clock.nowMs();
    await closeStandby();
    await store!.lead(term, JSON.stringify(holder));
    leader = createScheduler(config, { log, clock, store: store!, mayAct: () => elector?.isLeader() ?? false, term, controlPlane: member, extraMetrics: haMetrics.registry });
    await leader.start();
    setRole('leader');
    haMetrics.leaderChanges.inc();
    // Snapshot and compact once snapshotEveryEntries entries have gone by since the last snapshot.
    let lastSnapshotSeq = store!.appliedLogSeq();
    snapshotTimer = setInterval(() => {
      const s = store;
      if (!s || s.appliedLogSeq() - lastSnapshotSeq < config.ha.snapshotEveryEntries) return;
      s.snapshot().then(
        (snap) => {
          lastSnapshotSeq = snap.seq;
          log.info({ seq: snap.seq, jobs: snap.jobs.length, nodes: snap.nodes.length }, 'state snapshot saved; the stream is compacted up to it');
        },
        (e: unknown) => log.warn({ err: (e as Error).message }, 'state snapshot failed'),
      );
    }, 5000);
    log.info({ term, tookMs: clock.nowMs() - t0, appliedSeq: store!.appliedLogSeq() }, `leading in term ${term}`);
  }

  async function stepDown(term: number, cause: string): Promise<void> {
    store?.follow(); // at once: no write from here on
    if (snapshotTimer) clearInterval(snapshotTimer);
    log.warn({ term, cause }, `stepping down from term ${term} (${cause}); becoming a standby`);
    if (leader) {
      await leader.stop().catch((e: unknown) => log.error({ err: (e as Error).message }, 'error while stopping the deposed scheduler'));
      leader = undefined;
    } else {
      await closeStandby();
      await store?.close();
    }
    store = undefined;
    if (role === 'leader') haMetrics.leaderChanges.inc();
    setRole('none');
    if (lifecycle === 'running') await becomeStandby();
  }

  const daemon: HaSchedulerDaemon = {
    get lifecycle() {
      return lifecycle;
    },
    get grpcPort() {
      return standbyServer?.port ?? leader?.grpcPort ?? 0;
    },
    get metricsPort() {
      return standbyMetrics?.port ?? leader?.metricsPort ?? 0;
    },
    get role() {
      return role;
    },
    member,
    reload() {
      return leader?.reload() ?? authn?.reload();
    },
    async start() {
      if (!config.nats.enabled) throw new ConfigError('ha.enabled', 'needs nats.enabled: the lease and the state live in NATS JetStream');
      lifecycle = 'starting';
      // The standby authenticates GetControlPlane's callers as the leader would (a ConfigError stops the start).
      authn = new Authenticator({ insecure: config.grpc.insecure, auth: config.auth }, { clock, log: log.child({ component: 'auth' }) });
      nc = await connect({ ...natsConnectionOptions(config.nats, `${config.schedulerId} ha`), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
      const options = leaseOptions(config.ha.leaseTtlMs);
      elector = new Elector({
        store: await KvLeaseStore.open(nc, { bucket: HA_NAMES.leaseBucket, key: HA_NAMES.leaseKey, ttlMs: options.ttlMs, replicas: config.ha.replicas, timeoutMs: Math.max(1000, options.renewIntervalMs) }),
        options,
        holder: JSON.stringify(holder),
        log: log.child({ component: 'ha' }),
      });
      elector.onChange({
        // A lead that fails half-way (the term record refused, the scheduler not starting) gives the lease up and goes back to standby.
        lead: (term) =>
          then('taking the lead', () =>
            lead(term).catch(async (e: unknown) => {
              log.error({ term, err: (e as Error).message }, `could not take the lead in term ${term}; back to standby`);
              elector?.stop(true);
              await stepDown(term, 'lead-failed');
              elector?.start();
            }),
          ),
        stepDown: (term, cause) => then('stepping down', () => stepDown(term, cause)),
      });
      await becomeStandby();
      lifecycle = 'running';
      elector.start();
    },
    async stop() {
      if (lifecycle === 'stopped' || lifecycle === 'stopping') return;
      lifecycle = 'stopping';
      // A leader resigns: its lease runs out on the servers, and a standby takes over after the TTL.
      elector?.stop(false);
      if (snapshotTimer) clearInterval(snapshotTimer);
      await phases;
      if (leader) await leader.stop();
      else {
        await closeStandby();
        await store?.close();
      }
      for (const s of ['', ...SERVICE_NAMES]) standbyServer?.health.setStatus(s, 'NOT_SERVING');
      await nc?.close();
      lifecycle = 'stopped';
      log.info('scheduler stopped');
    },
  };
  return daemon;
}
