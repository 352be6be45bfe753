/**
 * The one place the scheduler daemon is wired: create, start, stop. About 440 lines, over the usual
 * 400: every part the daemon has (store, cluster, jobs, API, auth, events, telemetry, usage, HA
 * hooks) is built and torn down here in its order; the parts themselves live in their modules.
 */
import { mkdirSync } from 'node:fs';
import type { Clock } from '../shared/clock/index.js';
import type { Daemon, Lifecycle } from '../shared/lifecycle/index.js';
import type { Logger } from '../shared/log/index.js';
import { startMetricsServer, type MetricsServer } from '../shared/metrics/index.js';
import { AgentStreams } from './api/agent-service.js';
import { schedulerServiceHandlers } from './api/scheduler-service.js';
import { SERVICE_NAMES, serverTls, startGrpcServer, type GrpcServer } from './api/server.js';
import { guardSchedulerService } from './api/authz.js';
import { RateLimiter } from './api/rate-limit.js';
import { Auditor, Authenticator, compileAuthPolicy, type ReloadReport, type ServedCertificate, type ServerTlsMaterial } from './auth/index.js';
import { ClusterModel } from './cluster/index.js';
import type { SchedulerConfig } from './config.js';
import { EventOutbox, MemoryEventSink, NatsEventSink, type EventBus } from './events/index.js';
import { natsConnectionOptions } from '../shared/natsconn/index.js';
import { agentCommandToPb } from '../shared/wire/index.js';
import { createSchedulerMetrics } from './metrics.js';
import { registerJobMetrics, type JobMetrics } from './metrics-jobs.js';
import { UsageService } from './usage/index.js';
import { NodeRegistry } from './node-registry.js';
import { createFaultIntake, JobManager } from './jobs/index.js';
import { DEFAULT_ANSWER_GRACE_MS, NodeDiagnostics } from './diagnostics/index.js';
import { ACTIVE_JOB_STATES } from '../shared/domain/index.js';
import { LmdbStore, type StateStore } from './store/index.js';
import { runsReplicaOf, ServiceTelemetry, serviceStateOf } from './autoscale/index.js';
import { ConfigError } from '../shared/errors/index.js';
import { LatencyTelemetry } from './telemetry/index.js';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { singleMember, type ControlPlaneMember } from './ha/control-plane.js';

/** What a reload (SIGHUP) read again; an `error` means that part kept what it had. */
export interface SchedulerReload extends ReloadReport {
  /** The server certificate now served (null: plaintext); error: the files were refused. */
  tls: { served: ServedCertificate | null; error?: string };
}

export interface SchedulerDaemon extends Daemon {
  readonly grpcPort: number;
  readonly metricsPort: number;
  readonly registry: NodeRegistry;
  readonly jobs: JobManager;
  /** SLO autoscaling decisions (undefined with autoscale or NATS disabled); the job manager acts on onDecision. */
  readonly autoscale: ServiceTelemetry | undefined;
  /** Who calls (after start): the agent service checks node certificates with it (identify, fromCertificate, isRevoked). */
  readonly authenticator: Authenticator;
  /**
   * Re-reads the TLS files (grpc.tls), the revoked serials and the token keys (SIGHUP); what
   * cannot be read is logged and keeps its old value. Then calls the onRevoked listeners.
   */
  reload(): SchedulerReload;
  /** After every reload: the whole set of revoked serials (normal form, scheduler/auth/serials.ts). Returns the unsubscribe. */
  onRevoked(listener: (serials: ReadonlySet<string>) => void): () => void;
  /**
   * Ends the agent streams opened with a certificate whose serial (hex, upper case) is in
   * `serials`; returns the nodes' names (a reload of auth.revokedSerialsFile calls it).
   */
  closeRevoked(serials: ReadonlySet<string>): string[];
}

export interface SchedulerDeps {
  log: Logger;
  clock: Clock;
  /** The state store to use instead of opening LMDB in dataDir: a high-availability leader's replicated store (scheduler/ha). */
  store?: StateStore;
  /** Asked before every command to an agent: false (a leader past its lease) sends nothing. */
  mayAct?: () => boolean;
  /** The HA leader's term, told to agents in Registered and on StartTask/StopTask (absent: 0, no HA). */
  term?: number;
  /** GetControlPlane's answer (default: this scheduler alone, "single"); extraMetrics: served with its own (the HA registry). */
  controlPlane?: () => ControlPlaneMember | Promise<ControlPlaneMember>;
  extraMetrics?: Registry;
}

export function createScheduler(config: SchedulerConfig, deps: SchedulerDeps): SchedulerDaemon {
  const { log, clock } = deps;
  const mayAct = deps.mayAct ?? (() => true);
  const term = deps.term ?? 0;
  const controlPlane = deps.controlPlane ?? singleMember(config.schedulerId, () => `${config.grpc.listen.host}:${grpcServer?.port ?? config.grpc.listen.port}`, clock.nowMs());
  let lifecycle: Lifecycle = 'created';
  let store: StateStore | undefined;
  let events: EventBus | undefined;
  let grpcServer: GrpcServer | undefined;
  let metricsServer: MetricsServer | undefined;
  let streams: AgentStreams | undefined;
  let registry: NodeRegistry | undefined;
  let jobs: JobManager | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  let usageService: UsageService | undefined;
  let autoscale: ServiceTelemetry | undefined;
  let latency: LatencyTelemetry | undefined;
  let authn: Authenticator | undefined;
  let tls: ServerTlsMaterial | null = null;
  const revokedListeners = new Set<(serials: ReadonlySet<string>) => void>();

  const daemon: SchedulerDaemon = {
    get lifecycle() {
      return lifecycle;
    },
    get grpcPort() {
      return grpcServer?.port ?? 0;
    },
    get metricsPort() {
      return metricsServer?.port ?? 0;
    },
    get registry() {
      if (!registry) throw new Error('scheduler not started');
      return registry;
    },
    get jobs() {
      if (!jobs) throw new Error('scheduler not started');
      return jobs;
    },
    get autoscale() {
      return autoscale;
    },
    get authenticator() {
      if (!authn) throw new Error('scheduler not started');
      return authn;
    },
    onRevoked(listener) {
      revokedListeners.add(listener);
      return () => revokedListeners.delete(listener);
    },
    reload() {
      if (!authn) throw new Error('scheduler not started');
      const out: SchedulerReload = { tls: { served: null }, ...authn.reload() };
      if (tls) {
        try {
          out.tls.served = tls.reload();
        } catch (e) {
          out.tls = { served: tls.served, error: (e as Error).message };
          log.error({ err: (e as Error).message }, 'the TLS files could not be re-read; the previous certificate is still served');
        }
      }
      log.info(
        {
          certificate: out.tls.served,
          revokedSerials: out.revoked.count,
          tokenKeys: out.tokens.source || '(tokens off)',
          failed: [out.tls.error && 'tls', out.revoked.error && 'revokedSerialsFile', out.tokens.error && 'tokens'].filter(Boolean),
        },
        'reloaded the TLS files, the revoked serials and the token keys',
      );
      return out;
    },
    closeRevoked(serials) {
      return streams?.closeRevoked(serials) ?? [];
    },
    async start() {
      if (lifecycle !== 'created') throw new Error(`cannot start a scheduler that is ${lifecycle}`);
      lifecycle = 'starting';
      // Identity first: a bad auth block or TLS file fails the start before anything is opened.
      authn = new Authenticator({ insecure: config.grpc.insecure, auth: config.auth }, { clock, log: log.child({ component: 'auth' }) });
      authn.onRevoked((serials) => {
        for (const l of revokedListeners) l(serials);
      });
      const policy = compileAuthPolicy(config.auth, config.queues);
      tls = serverTls(config.grpc.insecure, config.grpc.tls, 'grpc.tls');
      if (!tls) log.warn('grpc.insecure: serving plaintext gRPC; no caller can prove who it is (loopback development only)');
      if (deps.store) {
        store = deps.store;
      } else {
        mkdirSync(config.dataDir, { recursive: true });
        store = LmdbStore.open(config.dataDir);
      }
      // Events are written to the store's outbox with their state change, then published from there.
      let sink: NatsEventSink | MemoryEventSink;
      if (config.nats.enabled) {
        const nats = new NatsEventSink(
          {
            connection: natsConnectionOptions(config.nats, config.schedulerId),
            streamMaxBytes: config.nats.streamMaxBytes,
            streamMaxAgeMs: config.nats.streamMaxAgeMs,
          },
          log.child({ component: 'events' }),
        );
        nats.start();
        sink = nats;
      } else {
        sink = new MemoryEventSink();
      }
      const outbox = new EventOutbox(store, sink, log.child({ component: 'events' }));
      outbox.start();
      events = outbox;
      const cluster = new ClusterModel(config.nodes.lostAfterMs, config.nodes.requireApproval);
      const metrics = createSchedulerMetrics(cluster, events, () => latency?.aggregator.domains() ?? []);
      registry = new NodeRegistry(cluster, store, events, clock, log.child({ component: 'nodes' }), { maxAutoDrainShare: config.health.maxAutoDrainShare, metrics });
      const loaded = registry.load(config.nodes.restartGraceMs);
      // Usage accounting (issue 23): node history written with the node records; rank entries with the jobs (jobs/table.ts).
      const usage = new UsageService({ retentionDays: config.usage.retentionDays }, { store, clock, log: log.child({ component: 'usage' }) });
      usageService = usage;
      registry.nodeHistory = usage.nodeHistory;
      let jobMetrics: JobMetrics | undefined;
      const jm = new JobManager(
        {
          levels: config.topology.levels,
          masterPortRange: { min: config.jobs.masterPortMin, max: config.jobs.masterPortMax },
          requeueInitialMs: config.jobs.requeueInitialMs,
          requeueMaxMs: config.jobs.requeueMaxMs,
          cycleIntervalMs: config.jobs.cycleIntervalMs,
          queues: config.queues,
          fairShareHalfLifeMs: config.jobs.fairShareHalfLifeMs,
          stopSlackMs: config.jobs.stopSlackMs,
          prologFailuresToHold: config.health.prologFailuresToHold,
          localityWait: config.placement.localityWait,
          queueDepthJobs: config.jobs.queueDepthJobs,
          specLimits: {
            maxBytes: config.jobs.maxSpecBytes,
            maxDepth: config.jobs.maxSpecDepth,
            maxAliasCount: config.jobs.maxSpecAliases,
            maxNodes: config.jobs.maxSpecNodes,
            maxRanksPerJob: config.jobs.maxRanksPerJob,
            maxShardsPerJob: config.jobs.maxShardsPerJob,
            maxReplicasPerJob: config.jobs.maxReplicasPerJob,
            fieldLimits: {
              commandMaxArgs: config.jobs.maxCommandArgs,
              commandArgMaxBytes: config.jobs.maxCommandArgBytes,
              commandMaxBytes: config.jobs.maxCommandBytes,
              envMaxKeys: config.jobs.maxEnvVars,
              envNameMaxBytes: config.jobs.maxEnvNameBytes,
              envValueMaxBytes: config.jobs.maxEnvValueBytes,
              envMaxBytes: config.jobs.maxEnvBytes,
            },
          },
        },
        {
          store,
          cluster,
          events,
          clock,
          log: log.child({ component: 'jobs' }),
          send: (node, cmd) => (mayAct() && streams?.send(node, agentCommandToPb(cmd, term))) ?? false,
          degraded: () => ({ domains: latency?.degraded() ?? [], mode: config.placement.degradedDomains }),
          nodesExcluded: (added, all) => {
            metrics.nodesExcluded.set(all.size);
            metrics.nodeExclusions.inc(added.length);
            for (const a of added) void registry?.excluded(a.node, a.reason).catch((e: Error) => log.error({ err: e.message, node: a.node }, 'could not store a node exclusion event'));
          },
          onRanksEnded: (entries) => jobMetrics?.ranksEnded(entries),
          observeCycle: (seconds) => jobMetrics?.observeCycle(seconds),
        },
      );
      jobs = jm;
      jobMetrics = registerJobMetrics(metrics.registry, events, {
        live: () => jm.live(),
        find: (id) => jm.peek(id),
        topology: () => jm.topologyView(),
        queues: config.queues,
        nowMs: () => clock.nowMs(),
      });
      if (config.telemetry.enabled && config.nats.enabled) {
        const tc = config.telemetry;
        latency = new LatencyTelemetry(
          {
            connection: natsConnectionOptions(config.nats, `${config.schedulerId} telemetry`),
            slidingWindowMs: tc.slidingWindowMs,
            slots: 12,
            evaluateIntervalMs: tc.evaluateIntervalMs,
            degradeFactor: tc.degradeFactor,
            degradeAfterMs: tc.degradeAfterMs,
            clearAfterMs: tc.clearAfterMs,
            minSamples: tc.minSamples,
            p99FloorUs: tc.p99FloorMs * 1000,
            peersPerLevel: tc.peersPerLevel,
          },
          { clock, log: log.child({ component: 'telemetry' }), events, registry: metrics.registry, tree: () => jm.topologyTree(), send: (node, cmd) => (mayAct() && streams?.send(node, agentCommandToPb(cmd, term))) ?? false },
        );
        latency.start();
      }
      const jobsLoaded = jm.load();
      await usage.start(cluster.list());
      registry.onTransition((t) => {
        jm.onNodeTransition(t);
        if (t.type === 'deleted') latency?.onEndpoint(t.node.name, null);
      });
      // Diagnostics and return of nodes drained for health (issue 20); maxTries 0: off.
      const hd = config.health.diagnostic;
      const diagnostics =
        hd.maxTries > 0
          ? new NodeDiagnostics(
              { maxTries: hd.maxTries, holdDownMs: hd.holdDownMs, answerGraceMs: DEFAULT_ANSWER_GRACE_MS },
              {
                registry,
                send: (node, run) => streams?.send(node, { runDiagnostic: run }) ?? false,
                busyRanks: (node) => jm.list().filter((j) => ACTIVE_JOB_STATES.has(j.state)).reduce((k, j) => k + j.ranks.filter((r) => r.node === node && r.state !== 'exited').length, 0),
                clock,
                log: log.child({ component: 'diagnostics' }),
                counted: metrics.nodeDiagnostics,
              },
            )
          : undefined;
      registry.onEvict((node, checks) => {
        jm.evictNode(node, checks, config.health.evictWithinMs)
          .then((gangs) => metrics.healthEvictions.inc(gangs))
          .catch((e: unknown) => log.error({ err: e, node }, 'evicting the gangs of an unhealthy node failed'));
      });
      const auditor = new Auditor({ events, log: log.child({ component: 'audit' }), clock, denied: metrics.authDenied });
      streams = new AgentStreams({
        registry,
        metrics,
        log: log.child({ component: 'agents' }),
        schedulerId: config.schedulerId,
        reportIntervalMs: config.nodes.reportIntervalMs,
        term,
        onRegistered: (node, tasks) => jm.onAgentRegistered(node, tasks),
        onTaskUpdate: (node, task) => jm.onTaskReport(node, task),
        onJobFault: createFaultIntake({ onJobFault: (id, f) => jm.onJobFault(id, f), counter: metrics.jobFaults, log: log.child({ component: 'job-faults' }) }),
        onLatencyEndpoint: (node, endpoint) => latency?.onEndpoint(node, endpoint),
        onDiagnosticResult: async (node, result) => diagnostics?.onResult(node, result),
        // The node's name comes from its verified certificate (revoked ones refused; anonymous only on a plaintext server).
        identify: (call) => authn!.identifyAgent(call),
        auditor,
      });
      // A reload that revokes a node certificate ends that node's open stream; it is refused when it reconnects.
      authn.onRevoked((serials) => {
        const closed = streams?.closeRevoked(serials) ?? [];
        if (closed.length > 0) log.warn({ nodes: closed }, 'closed the agent streams of revoked node certificates');
      });
      grpcServer = await startGrpcServer({
        listen: config.grpc.listen,
        maxReceiveMessageBytes: config.grpc.maxReceiveMessageBytes,
        maxSendMessageBytes: config.grpc.maxSendMessageBytes,
        maxConnectionIdleMs: config.grpc.maxConnectionIdleMs,
        credentials: tls?.credentials() ?? grpc.ServerCredentials.createInsecure(),
        agent: streams.handlers(),
        scheduler: guardSchedulerService(schedulerServiceHandlers(cluster, registry, jm, streams, clock, events, policy, controlPlane, usage), {
          authn,
          policy,
          auditor,
          clock,
          log: log.child({ component: 'api' }),
          rateLimit: new RateLimiter(config.grpc.rateLimit),
          rateLimited: metrics.rateLimited,
        }),
      });
      if (config.nats.enabled && config.autoscale.enabled) {
        const { enabled: _on, ...policy } = config.autoscale;
        if (policy.downFactor >= policy.upFactor) throw new ConfigError('autoscale.downFactor', `must be below autoscale.upFactor (${policy.upFactor}), else there is no band to rest in`);
        autoscale = new ServiceTelemetry(policy, {
          lookup: (service) => {
            try {
              return serviceStateOf(jm.get(service));
            } catch {
              return undefined; // not a job (any more)
            }
          },
          runsReplica: (service, node) => {
            try {
              return runsReplicaOf(jm.get(service), node);
            } catch {
              return false;
            }
          },
          clock,
          log: log.child({ component: 'autoscale' }),
          registry: metrics.registry,
        });
        autoscale.onDecision((d) => {
          jm.scale(d.service, d.target, d.reason).catch((e: unknown) => log.warn({ job: d.service, err: (e as Error).message }, 'autoscaling step refused'));
        });
        autoscale.start(natsConnectionOptions(config.nats, `${config.schedulerId} telemetry`));
      }
      metricsServer = await startMetricsServer(deps.extraMetrics ? Registry.merge([metrics.registry, deps.extraMetrics]) : metrics.registry, config.metrics.listen);
      const sweepEveryMs = Math.max(50, Math.min(1000, Math.floor(config.nodes.lostAfterMs / 4)));
      sweepTimer = setInterval(() => {
        registry!
          .sweep()
          .then(() => diagnostics?.tick())
          .catch((e: unknown) => log.error({ err: e }, 'node sweep failed'));
      }, sweepEveryMs);
      jm.start();
      grpcServer.health.setStatus('', 'SERVING');
      for (const s of SERVICE_NAMES) grpcServer.health.setStatus(s, 'SERVING');
      lifecycle = 'running';
      log.info(
        {
          grpcPort: grpcServer.port,
          metricsPort: metricsServer.port,
          dataDir: config.dataDir,
          nodesLoaded: loaded,
          jobsLoaded,
          tls: tls ? { certificate: tls.served, clientCertificates: tls.verifiesClients } : false,
          tokens: authn.acceptsTokens,
          revokedSerials: authn.revokedSerials.size,
        },
        'scheduler running',
      );
    },
    async stop() {
      if (lifecycle === 'stopped' || lifecycle === 'stopping') return;
      lifecycle = 'stopping';
      if (sweepTimer) clearInterval(sweepTimer);
      // Each part stops even if one before it fails: a deposed HA leader's last writes are refused
      // (NotLeaderError), and its gRPC port must still close, or it cannot become a standby on it.
      const part = async (what: string, f: () => Promise<unknown> | undefined): Promise<void> => {
        try {
          await f();
        } catch (e) {
          log.warn({ err: (e as Error).message }, `stopping: ${what} failed; going on`);
        }
      };
      await part('usage accounting', () => usageService?.stop());
      await part('the autoscaler', () => autoscale?.close());
      await part('the job manager', () => jobs?.stop());
      await part('the latency plane', () => latency?.close());
      if (grpcServer) {
        for (const s of ['', ...SERVICE_NAMES]) grpcServer.health.setStatus(s, 'NOT_SERVING');
        streams?.closeAll();
        const srv = grpcServer.server;
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            srv.forceShutdown();
            resolve();
          }, 2000);
          srv.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        });
      }
      await part('the metrics server', () => metricsServer?.close());
      if (events) {
        const e = events;
        await part('the event publisher', async () => {
          await e.flush(2000);
          await e.close();
        });
      }
      await part('the store', () => store?.close());
      lifecycle = 'stopped';
      log.info('scheduler stopped');
    },
  };
  return daemon;
}
