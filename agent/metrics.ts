/**
 * The agent's /metrics. Default names follow Prometheus conventions (units in names; promtool-clean).
 * With metrics.dcgmCompat, the same readings are also exposed under dcgm-exporter's names and labels
 * (DCGM_FI_DEV_*), so dashboards built for dcgm-exporter work unchanged. With metrics.jobLabels, the
 * per-GPU series also carry the job labels of the rank holding the GPU (gpu-job-labels.ts).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerEventLoopDelay, registerProcessMetrics } from '../shared/metrics/index.js';
import type { GpuInfo, HealthVerdict, Severity } from '../shared/domain/index.js';
import { pciBusDevice } from './core/index.js';
import type { NodeSnapshot } from './node-probe.js';
import { JOB_LABEL_NAMES, jobLabelsByGpu, NO_JOB, type GpuHolding, type JobLabels } from './gpu-job-labels.js';

const SEVERITY_VALUE: Record<Severity, number> = { ok: 0, warn: 1, fail: 2 };

export interface AgentMetrics {
  registry: Registry;
  connected: Gauge;
  reportsSent: Counter;
  reconnects: Counter;
  /** Application XIDs by code and result (agent/job-faults.ts). */
  jobFaults: Counter<'xid' | 'result'>;
  /** gantry_agent_diagnostics_total{result}: passed, failed, error. */
  diagnostics: Counter<'result'>;
  /** Messages from a deposed HA leader (a lower term than the highest seen), dropped, by message. */
  staleCommands: Counter<'message'>;
  update(snapshot: NodeSnapshot): void;
  /** A rank started or ended: the per-GPU series of the last snapshot again, with the job labels of now (metrics.jobLabels). */
  jobsChanged(): void;
}

export interface AgentMetricsOptions {
  nodeName: string;
  dcgmCompat: boolean;
  /** metrics.jobLabels: the ranks holding GPUs now; absent: no job labels. */
  holdings?: () => readonly GpuHolding[];
}

export function createAgentMetrics(opts: AgentMetricsOptions): AgentMetrics {
  const registry = new Registry();
  registerProcessMetrics(registry, 'gantry_agent_');
  registerEventLoopDelay(registry, 'gantry_agent_');
  const jobLabelNames: readonly string[] = opts.holdings ? JOB_LABEL_NAMES : [];
  const gpuLabels = ['gpu', 'uuid', 'model', ...jobLabelNames] as const;
  const g = (name: string, help: string, labelNames: readonly string[] = gpuLabels): Gauge =>
    new Gauge({ name, help, labelNames: [...labelNames], registers: [registry] });

  const temp = g('gantry_agent_gpu_temperature_celsius', 'GPU core temperature.');
  const power = g('gantry_agent_gpu_power_watts', 'GPU power draw.');
  const util = g('gantry_agent_gpu_utilization_ratio', 'GPU utilization, 0 to 1.');
  const memUsed = g('gantry_agent_gpu_memory_used_bytes', 'GPU framebuffer memory in use.');
  const memTotal = g('gantry_agent_gpu_memory_total_bytes', 'GPU framebuffer memory in total.');
  const eccVolUnc = g('gantry_agent_gpu_ecc_volatile_uncorrectable_errors', 'Uncorrectable ECC errors since the driver loaded.');
  const eccVolCor = g('gantry_agent_gpu_ecc_volatile_correctable_errors', 'Correctable ECC errors since the driver loaded.');
  const xids = new Counter({
    name: 'gantry_agent_gpu_xid_events_total',
    help: 'XID events read from the kernel log (the first read takes the ring buffer since boot), by PCI bus id and code.',
    labelNames: ['pci_bus_id', 'xid'],
    registers: [registry],
  });
  const health = g('gantry_agent_health_check_severity', 'Health verdicts: 0 ok, 1 warn, 2 fail, by check and GPU ("" for the node).', [
    'check',
    'gpu',
  ]);
  const nodeHealth = g('gantry_agent_health_severity', 'Worst health verdict of the node: 0 ok, 1 warn, 2 fail.', []);
  const gpus = g('gantry_agent_gpus', 'GPUs reported by the last successful probe.', []);
  const collectDuration = new Histogram({
    name: 'gantry_agent_collector_duration_seconds',
    help: 'Time each collector took.',
    labelNames: ['collector'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const collectErrors = new Counter({
    name: 'gantry_agent_collector_errors_total',
    help: 'Collector runs that failed (timeout, bad exit, unparsable output).',
    labelNames: ['collector'],
    registers: [registry],
  });

  // dcgm-exporter's names, types and labels (default-counters.csv), for the readings nvidia-smi gives.
  const dcgm = opts.dcgmCompat
    ? (() => {
        const labels = ['gpu', 'UUID', 'pci_bus_id', 'device', 'modelName', 'Hostname', 'DCGM_FI_DRIVER_VERSION', ...jobLabelNames];
        const d = (name: string, help: string): Gauge => new Gauge({ name, help, labelNames: labels, registers: [registry] });
        const c = (name: string, help: string): Counter => new Counter({ name, help, labelNames: labels, registers: [registry] });
        return {
          temp: d('DCGM_FI_DEV_GPU_TEMP', 'GPU temperature (in C).'),
          memTemp: d('DCGM_FI_DEV_MEMORY_TEMP', 'Memory temperature (in C).'),
          power: d('DCGM_FI_DEV_POWER_USAGE', 'Power draw (in W).'),
          util: d('DCGM_FI_DEV_GPU_UTIL', 'GPU utilization (in %).'),
          memCopyUtil: d('DCGM_FI_DEV_MEM_COPY_UTIL', 'Memory utilization (in %).'),
          fbUsed: d('DCGM_FI_DEV_FB_USED', 'Framebuffer memory used (in MiB).'),
          fbFree: d('DCGM_FI_DEV_FB_FREE', 'Framebuffer memory free (in MiB).'),
          xid: d('DCGM_FI_DEV_XID_ERRORS', 'Value of the last XID error encountered.'),
          eccDbe: c('DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', 'Total number of double-bit volatile ECC errors.'),
          eccSbe: c('DCGM_FI_DEV_ECC_SBE_VOL_TOTAL', 'Total number of single-bit volatile ECC errors.'),
          eccDbeAgg: c('DCGM_FI_DEV_ECC_DBE_AGG_TOTAL', 'Total number of double-bit persistent ECC errors.'),
          eccSbeAgg: c('DCGM_FI_DEV_ECC_SBE_AGG_TOTAL', 'Total number of single-bit persistent ECC errors.'),
          retiredSbe: c('DCGM_FI_DEV_RETIRED_SBE', 'Total number of retired pages due to single-bit errors.'),
          retiredDbe: c('DCGM_FI_DEV_RETIRED_DBE', 'Total number of retired pages due to double-bit errors.'),
          remapFailure: d('DCGM_FI_DEV_ROW_REMAP_FAILURE', 'Whether remapping of rows has failed'),
          pcieReplay: c('DCGM_FI_DEV_PCIE_REPLAY_COUNTER', 'Total number of PCIe retries.'),
          remapUnc: c('DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS', 'Number of remapped rows for uncorrectable errors'),
          remapCor: c('DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', 'Number of remapped rows for correctable errors'),
          smClock: d('DCGM_FI_DEV_SM_CLOCK', 'SM clock frequency (in MHz).'),
          memClock: d('DCGM_FI_DEV_MEM_CLOCK', 'Memory clock frequency (in MHz).'),
          encUtil: d('DCGM_FI_DEV_ENC_UTIL', 'Encoder utilization (in %).'),
          decUtil: d('DCGM_FI_DEV_DEC_UTIL', 'Decoder utilization (in %).'),
          fbReserved: d('DCGM_FI_DEV_FB_RESERVED', 'Framebuffer memory reserved (in MiB).'),
        };
      })()
    : undefined;

  const gpuKey = (info: GpuInfo | undefined, index: number, job: JobLabels | undefined): Record<string, string> => ({
    gpu: String(index),
    uuid: info?.uuid ?? '',
    model: info?.name ?? '',
    ...job,
  });

  const setIf = (gauge: Gauge, labels: Record<string, string>, v: number | null | undefined): void => {
    if (v !== null && v !== undefined && Number.isFinite(v)) gauge.set(labels, v);
  };
  /** A counter read from the GPU's own lifetime count: reset each update, then set by one inc. */
  const countIf = (counter: Counter, labels: Record<string, string>, v: number | null | undefined): void => {
    if (v !== null && v !== undefined && Number.isFinite(v) && v >= 0) counter.inc(labels, v);
  };

  /** The last snapshot, for jobsChanged. */
  let last: NodeSnapshot | undefined;
  /** Every per-GPU series from one snapshot (reset first, so a GPU gone or relabelled leaves nothing stale). */
  const renderGpus = (s: NodeSnapshot): void => {
    const byGpu = opts.holdings ? jobLabelsByGpu(opts.holdings()) : undefined;
    const infoByIndex = new Map(s.inventory.gpus.map((x) => [x.index, x]));
    for (const m of [temp, power, util, memUsed, memTotal, eccVolUnc, eccVolCor]) m.reset();
    if (dcgm) for (const m of Object.values(dcgm)) m.reset();
    for (const sample of s.samples) {
      const job = byGpu ? (byGpu.get(sample.index) ?? NO_JOB) : undefined;
      const l = gpuKey(infoByIndex.get(sample.index), sample.index, job);
      setIf(temp, l, sample.temperatureCelsius);
      setIf(power, l, sample.powerWatts);
      setIf(util, l, sample.utilizationRatio);
      setIf(memUsed, l, sample.memoryUsedBytes);
      setIf(memTotal, l, sample.memoryTotalBytes);
      setIf(eccVolUnc, l, sample.ecc.volatileUncorrectable);
      setIf(eccVolCor, l, sample.ecc.volatileCorrectable);
      if (dcgm) {
        const info = infoByIndex.get(sample.index);
        const dl = {
          gpu: String(sample.index),
          UUID: info?.uuid ?? sample.uuid,
          pci_bus_id: info?.pciBusId ?? sample.pciBusId,
          device: `nvidia${sample.index}`,
          modelName: info?.name ?? '',
          Hostname: opts.nodeName,
          DCGM_FI_DRIVER_VERSION: s.inventory.firmware.driverVersion,
          ...job,
        };
        const pct = (r: number | null): number | null => (r === null ? null : r * 100);
        setIf(dcgm.temp, dl, sample.temperatureCelsius);
        setIf(dcgm.memTemp, dl, sample.memoryTemperatureCelsius);
        setIf(dcgm.power, dl, sample.powerWatts);
        setIf(dcgm.util, dl, pct(sample.utilizationRatio));
        setIf(dcgm.memCopyUtil, dl, pct(sample.memoryUtilizationRatio));
        setIf(dcgm.fbUsed, dl, sample.memoryUsedBytes === null ? null : sample.memoryUsedBytes / 2 ** 20);
        if (sample.memoryUsedBytes !== null && sample.memoryTotalBytes !== null) {
          dcgm.fbFree.set(dl, (sample.memoryTotalBytes - sample.memoryUsedBytes) / 2 ** 20);
        }
        countIf(dcgm.eccDbe, dl, sample.ecc.volatileUncorrectable);
        countIf(dcgm.eccSbe, dl, sample.ecc.volatileCorrectable);
        countIf(dcgm.eccDbeAgg, dl, sample.ecc.aggregateUncorrectable);
        countIf(dcgm.eccSbeAgg, dl, sample.ecc.aggregateCorrectable);
        countIf(dcgm.retiredSbe, dl, sample.retiredPages.singleBitCount);
        countIf(dcgm.retiredDbe, dl, sample.retiredPages.doubleBitCount);
        const rr = sample.remappedRows;
        if (rr) {
          setIf(dcgm.remapFailure, dl, rr.failure === null ? null : rr.failure ? 1 : 0);
          countIf(dcgm.remapUnc, dl, rr.uncorrectable);
          countIf(dcgm.remapCor, dl, rr.correctable);
        }
        countIf(dcgm.pcieReplay, dl, sample.pcie.replayCounter);
        const bd = pciBusDevice(info?.pciBusId ?? sample.pciBusId);
        const lastXid = [...s.xids].reverse().find((x) => x.busDevice === bd);
        dcgm.xid.set(dl, lastXid?.xid ?? 0);
        const more = sample.metricReadings;
        if (more) {
          setIf(dcgm.smClock, dl, more.smClockMHz);
          setIf(dcgm.memClock, dl, more.memoryClockMHz);
          setIf(dcgm.encUtil, dl, pct(more.encoderUtilizationRatio));
          setIf(dcgm.decUtil, dl, pct(more.decoderUtilizationRatio));
          setIf(dcgm.fbReserved, dl, more.memoryReservedBytes === null ? null : more.memoryReservedBytes / 2 ** 20);
        }
      }
    }
  };

  return {
    registry,
    connected: new Gauge({ name: 'gantry_agent_connected', help: '1 while the stream to the scheduler is up.', registers: [registry] }),
    reportsSent: new Counter({ name: 'gantry_agent_reports_sent_total', help: 'Reports sent to the scheduler.', registers: [registry] }),
    reconnects: new Counter({
      name: 'gantry_agent_reconnects_total',
      help: 'Times the stream to the scheduler was lost.',
      registers: [registry],
    }),
    jobFaults: new Counter({
      name: 'gantry_agent_job_faults_total',
      help: "Application XIDs by code and result: attributed (sent to the scheduler as the job's fault), ignored-stopping (from a rank Gantry was stopping), unattributed (no pid, or no rank of this agent).",
      labelNames: ['xid', 'result'],
      registers: [registry],
    }),
    diagnostics: new Counter({
      name: 'gantry_agent_diagnostics_total',
      help: 'Node diagnostics run for the scheduler (RunDiagnostic), by result: passed, failed, error (none configured, could not run, timed out).',
      labelNames: ['result'],
      registers: [registry],
    }),
    staleCommands: new Counter({
      name: 'gantry_agent_stale_commands_total',
      help: 'Messages from a scheduler whose HA term is lower than the highest this agent has seen (a deposed leader), refused, by message: registered (the agent disconnects and tries its next address), start-task, stop-task (dropped).',
      labelNames: ['message'],
      registers: [registry],
    }),
    update(s: NodeSnapshot) {
      for (const run of s.runs) {
        collectDuration.observe({ collector: run.collector }, run.durationMs / 1000);
        if (run.error) collectErrors.inc({ collector: run.collector });
      }
      last = s;
      renderGpus(s);
      for (const x of s.newXids) xids.inc({ pci_bus_id: x.pci, xid: String(x.xid) });
      health.reset();
      setHealth(health, s.verdicts);
      nodeHealth.set(Math.max(0, ...s.verdicts.map((v) => SEVERITY_VALUE[v.severity])));
      gpus.set(s.inventory.gpus.length);
    },
    jobsChanged() {
      if (opts.holdings && last) renderGpus(last);
    },
  };
}

/** One series per (check, GPU): the worst of its verdicts (one check may give several, e.g. two XIDs on a GPU). */
function setHealth(gauge: Gauge, verdicts: readonly HealthVerdict[]): void {
  const worst = new Map<string, { check: string; gpu: string; value: number }>();
  for (const v of verdicts) {
    const gpu = v.gpu === undefined ? '' : String(v.gpu);
    const k = `${v.check}|${gpu}`;
    const value = SEVERITY_VALUE[v.severity];
    if ((worst.get(k)?.value ?? -1) < value) worst.set(k, { check: v.check, gpu, value });
  }
  for (const w of worst.values()) gauge.set({ check: w.check, gpu: w.gpu }, w.value);
}
