/** The one place the agent daemon is wired: create, start, stop. */
import { accessSync, constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Clock } from '../shared/clock/index.js';
import type { Daemon, Lifecycle } from '../shared/lifecycle/index.js';
import type { Logger } from '../shared/log/index.js';
import { startMetricsServer, type MetricsServer } from '../shared/metrics/index.js';
import type { AgentConfig } from './config.js';
import {
  createAmdCollector,
  createHostCollector,
  createKernelLogReader,
  createNvidiaCollector,
} from './collectors/index.js';
import type { GpuCollector } from './core/index.js';
import { createHealthEvaluator, type HealthConfig } from './health/index.js';
import { createAgentMetrics } from './metrics.js';
import { NodeProber, type NodeSnapshot } from './node-probe.js';
import { Reporter, type IncidentView } from './reporter/index.js';
import { createTaskRunner, type TaskRunner } from './runner/index.js';
import type { AgentRankContainment, RankContainment } from './runner/cgroup/index.js';
import { startContainment } from './containment.js';
import { createAgentCommands, taskView } from './commands.js';
import { natsConnectionOptions } from '../shared/natsconn/index.js';
import { NatsTelemetrySink, type TelemetrySink } from './telemetry/index.js';
import { SloScraper } from './slo/index.js';
import { LatencyService } from './latency/index.js';
import { JobFaults } from './job-faults.js';
import { createNodeDiagnostic, diagnosticArgv } from './diagnostic.js';
import { loadWatermark, readBootId } from './kmsg-watermark.js';
import { createTermFence } from './term-fence.js';
import { createGpuStateReader, createHookMetrics, createJobHooks } from './hooks/index.js';

export const AGENT_VERSION = '0.1.0';

/** Resolves a binary the way execFile would: a path as given, a bare name on PATH. */
export function findBinary(name: string, envPath: string | undefined): string | undefined {
  const can = (p: string): boolean => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (name.includes('/')) return can(name) ? name : undefined;
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (dir && can(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/** Picks the GPU collector from config: NVIDIA first, then AMD, each 'auto' when its tool is found. */
export function chooseGpuCollector(config: AgentConfig, envPath: string | undefined): GpuCollector | undefined {
  const nv = config.collectors.nvidia;
  if (nv.enabled === true || (nv.enabled === 'auto' && findBinary(nv.binary, envPath))) {
    return createNvidiaCollector({ binaryPath: nv.binary, timeoutMs: nv.timeoutMs, fullProbeEvery: nv.fullProbeEveryCycles });
  }
  const amd = config.collectors.amd;
  if (amd.enabled === true || (amd.enabled === 'auto' && findBinary(amd.binary, envPath))) {
    // amd-smi answers for static facts where it is installed (issue 24); rocm-smi for the readings.
    const amdSmiPath = amd.amdSmiBinary !== '' && findBinary(amd.amdSmiBinary, envPath) ? amd.amdSmiBinary : null;
    return createAmdCollector({ binaryPath: amd.binary, timeoutMs: amd.timeoutMs, kfdRoot: amd.kfdRoot, amdSmiPath });
  }
  return undefined;
}

/** The health evaluator's settings from the agent config (health.*); the rest keep DEFAULT_HEALTH_CONFIG. */
export function healthConfigOf(config: AgentConfig): Partial<HealthConfig> {
  const { expectedGpus, ib, xid } = config.health;
  return {
    expectedGpus,
    ib: { devices: [...ib.devices], linkLayers: [...ib.linkLayers], minRateGbps: ib.minRateGbps },
    xid: { failGpu: [...xid.failGpu], application: [...xid.application], informational: [...xid.informational], unknown: xid.unknown, actions: { ...xid.actions } },
  };
}

export function createProber(config: AgentConfig, nodeName: string, clock: Clock, envPath: string | undefined, kmsgWatermark?: number): NodeProber {
  const c = config.collectors;
  return new NodeProber({
    nodeName,
    gpu: chooseGpuCollector(config, envPath),
    host: c.host.enabled ? createHostCollector({ timeoutMs: c.host.timeoutMs }) : undefined,
    infinibandRoot: c.infiniband.enabled ? c.infiniband.root : undefined,
    kernelLog: c.kernelLog.enabled ? createKernelLogReader({ path: c.kernelLog.path }) : undefined,
    evaluator: createHealthEvaluator({ config: healthConfigOf(config) }),
    topology: config.topology,
    clock,
    // XIDs that fail a GPU stay judged until the node reboots; the others for the prober's window.
    stickyXids: config.health.xid.failGpu,
    ...(kmsgWatermark !== undefined ? { kmsgWatermark } : {}),
  });
}

export interface AgentDaemon extends Daemon {
  readonly metricsPort: number;
  readonly connected: boolean;
  /** SIGHUP: re-reads scheduler.tls's files and reconnects with them; ranks keep running. */
  reload(): Promise<void>;
}

export interface AgentDeps {
  log: Logger;
  clock: Clock;
  envPath: string | undefined;
  /**
   * Once the first report went out: the scheduler acknowledged the registration (which carries the
   * first full report), or the first attempt to deliver it failed (the agent then goes on retrying,
   * and its ranks keep running). Then at every connection change, with a new status line. For
   * systemd's READY=1 and STATUS=.
   */
  onReady?(status: string): void;
}

export function createAgent(config: AgentConfig, deps: AgentDeps): AgentDaemon {
  const { log, clock } = deps;
  const nodeName = config.nodeName || os.hostname();
  let lifecycle: Lifecycle = 'created';
  let metricsServer: MetricsServer | undefined;
  let reporter: Reporter | undefined;
  let collectTimer: NodeJS.Timeout | undefined;
  let collecting: Promise<void> | undefined;
  // XIDs a passed diagnostic cleared stay cleared across agent restarts (not across reboots).
  const bootId = readBootId();
  const watermark = loadWatermark(config.runner.stateDir, bootId, (why) => log.warn({ why }, 'ignoring the kmsg watermark'));
  const prober = createProber(config, nodeName, clock, deps.envPath, watermark?.seq);
  // metrics.jobLabels: the runner (created below, read only once the agent collects) says which ranks hold which GPUs.
  const metrics = createAgentMetrics({ nodeName, dcgmCompat: config.metrics.dcgmCompat, ...(config.metrics.jobLabels ? { holdings: () => runner.holdings() } : {}) });
  let snapshot: NodeSnapshot | undefined;
  /** Telemetry to NATS (east-west latency, service SLOs); absent with nats.enabled false. */
  let telemetry: (TelemetrySink & { start?(): void }) | undefined = config.nats.enabled
    ? new NatsTelemetrySink(natsConnectionOptions(config.nats, `gantry-agent ${nodeName}`), log.child({ component: 'telemetry' }))
    : undefined;
  /** Scrapes SLO replicas' histograms into telemetry; absent without telemetry or with slo.enabled false. */
  let slo: SloScraper | undefined =
    telemetry && config.slo.enabled
      ? new SloScraper(
          { nodeName, scrapeIntervalMs: config.slo.scrapeIntervalMs, scrapeTimeoutMs: config.slo.scrapeTimeoutMs },
          { sink: telemetry, clock, log: log.child({ component: 'slo' }) },
        )
      : undefined;
  /** East-west latency probing; needs the telemetry sink. */
  let latency: LatencyService | undefined =
    config.latency.enabled && telemetry
      ? new LatencyService(
          { nodeName, listen: config.latency.listen, interface: config.latency.interface, fallbackAddress: config.address || nodeName, probeRateHz: config.latency.probeRateHz, windowMs: config.latency.windowMs, timeoutMs: config.latency.timeoutMs, echoDelayMs: config.latency.echoDelayMs, echoDelayFile: config.latency.echoDelayFile },
          telemetry,
          clock,
          log.child({ component: 'latency' }),
          metrics.registry,
        )
      : undefined;
  if (config.latency.enabled && !telemetry) log.warn('latency.enabled needs nats.enabled (windows go to NATS); latency probing is off');
  /** Set at start() when ranks are contained (runner.containment, and what the host enforces). */
  let contained: AgentRankContainment | undefined;
  const containment: RankContainment | undefined =
    config.runner.containment === 'off'
      ? undefined
      : {
          prepare: async (spec) => (contained ? contained.prepare(spec) : null),
          usage: async (key) => (contained ? contained.usage(key) : null),
          kill: async (key) => contained?.kill(key),
          release: async (key) => contained?.release(key),
        };
  const runner: TaskRunner = createTaskRunner({
    containment,
    stateDir: config.runner.stateDir,
    allowedUsers: config.runner.allowedUsers,
    allowRoot: config.runner.allowRoot,
    logMaxBytes: config.runner.logMaxBytes,
    logKeep: config.runner.logKeep,
    supervisor: config.runner.supervisor,
    warmSupervisors: config.runner.warmSupervisors,
    warmRefillDelayMs: config.runner.warmRefillDelayMs,
  });
  const jobFaults = new JobFaults(
    { stateDir: config.runner.stateDir, ignoreAfterStopMs: config.health.xid.ignoreAfterStopMs },
    { tasks: () => runner.list(), send: (f) => reporter?.sendJobFault(f) ?? false, counter: metrics.jobFaults, log: log.child({ component: 'job-faults' }) },
  );
  const diagnostic = createNodeDiagnostic({
    argv: diagnosticArgv(config.health.diagnostic.command, findBinary('dcgmi', deps.envPath) !== undefined),
    timeoutMs: config.health.diagnostic.timeoutMs,
    stateDir: config.runner.stateDir,
    bootId,
    prober,
    collectNow: () => collectNow(),
    reply: (r) => reporter?.sendDiagnosticResult(r),
    counted: (result) => metrics.diagnostics.inc({ result }),
    nowMs: () => clock.nowMs(),
    log: log.child({ component: 'diagnostic' }),
  });
  // Prolog, epilog and the GPU-clean check around the runner (docs/runner.md "Prolog and epilog").
  const nv = config.collectors.nvidia;
  const gpuTool = nv.enabled === true || (nv.enabled === 'auto' && findBinary(nv.binary, deps.envPath) !== undefined);
  /** Incidents from before the reporter exists (an adopted rank's epilog at start), sent when it does. */
  const pendingIncidents: IncidentView[] = [];
  const hooks = createJobHooks(
    {
      nodeName,
      prolog: config.hooks.prolog,
      epilog: config.hooks.epilog,
      timeoutMs: config.hooks.timeoutMs,
      gpuClean: { enabled: config.health.gpuClean.enabled, marginBytes: config.health.gpuClean.memoryMarginMiB * 1024 * 1024, settleMs: config.health.gpuClean.settleMs },
    },
    {
      gpus: () => (snapshot?.inventory.gpus ?? []).map((g) => ({ index: g.index, uuid: g.uuid })),
      gpuState: gpuTool ? createGpuStateReader({ binary: config.collectors.nvidia.binary, timeoutMs: config.collectors.nvidia.timeoutMs }) : undefined,
      sendIncident: (i) => {
        log.warn({ source: i.source, job: i.jobId, reason: i.reason }, 'node incident');
        if (reporter) reporter.sendIncident(i);
        else pendingIncidents.push(i);
      },
      selfUser: () => os.userInfo().username,
      metrics: createHookMetrics(metrics.registry),
      log: log.child({ component: 'hooks' }),
      nowMs: () => clock.nowMs(),
    },
  );
  const fence = createTermFence({ stateDir: config.runner.stateDir, counter: metrics.staleCommands, log: log.child({ component: 'term' }) });
  const commands = createAgentCommands({
    fence,
    runner: hooks.wrap(runner),
    diagnose: (requestId, reason) => diagnostic.run(requestId, reason),
    replies: () => reporter,
    inventory: () => snapshot?.inventory,
    slo: () => slo,
    latency: () => latency,
    nowMs: () => clock.nowMs(),
    log,
  });

  const collect = async (): Promise<void> => {
    // New checkpoints reach the scheduler through runner.onUpdate, like state changes.
    await runner.refreshCheckpoints().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'reading checkpoints failed'));
    const s = await prober.collect();
    const changed =
      !snapshot ||
      JSON.stringify(s.verdicts.map((v) => [v.check, v.severity, v.gpu])) !==
        JSON.stringify(snapshot.verdicts.map((v) => [v.check, v.severity, v.gpu]));
    snapshot = s;
    metrics.update(s);
    hooks.observe(s.samples);
    for (const r of s.runs) if (r.error) log.warn({ collector: r.collector, err: r.error }, 'collector failed');
    // Application XIDs belong to the job whose rank the driver named, not the node (job-faults.ts).
    await jobFaults.handle(s.jobFindings, s.collectedMs, s.newXids).catch((e: unknown) => log.warn({ err: (e as Error).message }, 'attributing application XIDs failed'));
    // A health change is worth telling the scheduler at once.
    if (changed) reporter?.sendReport();
  };

  /** A collection now, after the one in progress (whose snapshot may predate what changed). */
  const collectNow = async (): Promise<void> => {
    while (collecting) await collecting;
    collecting = collect()
      .catch((e: unknown) => log.error({ err: e }, 'collection failed'))
      .finally(() => (collecting = undefined));
    await collecting;
  };

  return {
    get lifecycle() {
      return lifecycle;
    },
    get metricsPort() {
      return metricsServer?.port ?? 0;
    },
    get connected() {
      return reporter?.isConnected ?? false;
    },
    async start() {
      if (lifecycle !== 'created') throw new Error(`cannot start an agent that is ${lifecycle}`);
      lifecycle = 'starting';
      if (config.scheduler.insecure) {
        log.warn({ scheduler: config.scheduler.address }, 'scheduler.insecure is true: plaintext to the scheduler, which neither is verified nor can verify this node; development only');
      }
      metricsServer = await startMetricsServer(metrics.registry, config.metrics.listen);
      telemetry?.start?.();
      await latency?.start();
      contained = await startContainment({
        config: config.runner,
        log: log.child({ component: 'containment' }),
        registry: metrics.registry,
        gpus: () => snapshot?.inventory.gpus ?? [],
      });
      const adopted = await runner.adopt();
      await contained?.adopted(adopted.filter((t) => t.state === 'starting' || t.state === 'running'));
      hooks.adopted(adopted);
      if (adopted.length) log.info({ tasks: adopted.length }, 'adopted tasks from the state directory');
      // Replicas still running are scraped again at once (their targets are in their spec.json),
      // not only after the scheduler's next StartTask.
      for (const t of adopted) {
        const target = t.state === 'starting' || t.state === 'running' ? runner.sloOf(t) : undefined;
        if (target) slo?.track({ jobId: t.jobId, rank: t.rank, epoch: t.epoch, ...target });
      }
      runner.onUpdate((t) => {
        log.info({ job: t.jobId, rank: t.rank, epoch: t.epoch, state: t.state, exitCode: t.exitCode, signal: t.signal }, `task ${t.state}`);
        if (t.state === 'exited' || t.state === 'failed-to-start') slo?.untrack(t);
        jobFaults.taskUpdated(t, clock.nowMs());
        commands.taskUpdated(t);
        hooks.taskUpdated(t);
        metrics.jobsChanged(); // a rank's GPUs are labelled while it runs, and no longer once it ended
      });
      await collect();
      reporter = new Reporter(
        {
          schedulerAddresses: config.scheduler.address,
          fence,
          insecure: config.scheduler.insecure,
          tls: config.scheduler.tls,
          maxReceiveMessageBytes: config.scheduler.maxReceiveMessageBytes,
          maxSendMessageBytes: config.scheduler.maxSendMessageBytes,
          nodeName,
          address: config.address || nodeName,
          latency: () => latency?.endpoint,
          agentVersion: AGENT_VERSION,
          labels: config.labels,
          allowedUsers: config.runner.allowedUsers,
          allowRoot: config.runner.allowRoot,
          reportIntervalMs: config.reportIntervalMs,
          initialDelayMs: config.reconnect.initialDelayMs,
          maxDelayMs: config.reconnect.maxDelayMs,
        },
        () => ({ inventory: snapshot!.inventory, verdicts: snapshot!.verdicts, tasks: runner.list().map(taskView) }),
        {
          onConnected: (announced) => {
            metrics.connected.set(1);
            deps.onReady?.(`registered with the scheduler at ${reporter?.schedulerAddress ?? ''}`);
            // The scheduler has seen these exits; their records can go (logs stay until cleanup).
            for (const t of announced) {
              if (t.state === 'exited' || t.state === 'failed-to-start') runner.forget(t).catch(() => undefined);
            }
          },
          onDisconnected: (reason) => {
            metrics.connected.set(0);
            metrics.reconnects.inc();
            log.warn({ reason }, 'disconnected from the scheduler');
            deps.onReady?.(`disconnected from the scheduler at ${reporter?.schedulerAddress ?? ''} (${reason}); reconnecting, ranks keep running`);
          },
          onReportSent: () => metrics.reportsSent.inc(),
          onCommand: commands.handle,
          onAttemptFailed: (reason) => deps.onReady?.(`cannot reach the scheduler at ${reporter?.schedulerAddress ?? ''} (${reason}); retrying, ranks keep running`),
        },
        log.child({ component: 'reporter' }),
      );
      for (const i of pendingIncidents.splice(0)) reporter.sendIncident(i);
      reporter.start();
      collectTimer = setInterval(() => {
        if (collecting) return; // never two cycles at once
        collecting = collect()
          .catch((e: unknown) => log.error({ err: e }, 'collection failed'))
          .finally(() => (collecting = undefined));
      }, config.collectIntervalMs);
      lifecycle = 'running';
      log.info(
        { node: nodeName, scheduler: config.scheduler.address, metricsPort: metricsServer.port, gpus: snapshot?.inventory.gpus.length ?? 0 },
        'agent running',
      );
    },
    async reload() {
      if (lifecycle !== 'running' || !reporter) return;
      const tls = config.scheduler.tls;
      if (config.scheduler.insecure) {
        log.info('reload: scheduler.insecure is true, there are no TLS files to re-read');
        return;
      }
      try {
        reporter.reloadCredentials();
        log.info({ caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile }, 'reloaded the scheduler TLS files; reconnecting with them');
      } catch (e) {
        log.error({ err: (e as Error).message }, 'reloading the scheduler TLS files failed; the current connection stays');
      }
    },
    async stop() {
      if (lifecycle === 'stopped' || lifecycle === 'stopping') return;
      lifecycle = 'stopping';
      if (collectTimer) clearInterval(collectTimer);
      await collecting;
      hooks.close(); // a running prolog or epilog is killed: its timeout would not outlive the agent
      await reporter?.stop();
      await runner.close(); // ranks keep running; a restarted agent adopts them
      await prober.close();
      slo?.close();
      slo = undefined;
      await latency?.stop();
      latency = undefined;
      await telemetry?.close();
      telemetry = undefined;
      await metricsServer?.close();
      lifecycle = 'stopped';
      log.info('agent stopped');
    },
  };
}

/** Probes once with the daemon's config (for `gantry agent inventory`). */
export async function probeOnce(config: AgentConfig, clock: Clock, envPath: string | undefined): Promise<NodeSnapshot> {
  const prober = createProber(config, config.nodeName || os.hostname(), clock, envPath);
  try {
    return await prober.collect();
  } finally {
    await prober.close();
  }
}
