/**
 * One collection cycle: run the configured collectors (each bounded by its own timeout), judge the
 * result with the health evaluator, and assemble the node's Inventory. A failing collector never
 * stops the cycle: its error becomes evidence for the health rules and the last good data is kept.
 */
import { performance } from 'node:perf_hooks';
import type { GpuInfo, HcaInfo, HealthVerdict, HostInfo, Inventory } from '../shared/domain/index.js';
import { emptyInventory } from '../shared/domain/index.js';
import type { Clock } from '../shared/clock/index.js';
import type { GpuCollector, GpuProbe, GpuSample, HostCollector, KernelLogReader, XidEvent } from './collectors/index.js';
import { readInfiniband } from './collectors/index.js';
import type { HealthEvaluator, JobFinding } from './health/index.js';

export interface CollectorRun {
  collector: string;
  durationMs: number;
  error?: string;
}

export interface NodeSnapshot {
  inventory: Inventory;
  verdicts: HealthVerdict[];
  /** Application-level findings (e.g. XID 13) for the job on that GPU, not the node. */
  jobFindings: JobFinding[];
  samples: GpuSample[];
  xids: XidEvent[];
  runs: CollectorRun[];
  collectedMs: number;
}

export interface NodeProberDeps {
  nodeName: string;
  gpu: GpuCollector | undefined;
  host: HostCollector | undefined;
  /** /sys/class/infiniband root; undefined to skip. */
  infinibandRoot: string | undefined;
  kernelLog: KernelLogReader | undefined;
  evaluator: HealthEvaluator;
  /** Level -> domain name, from config. */
  topology: Record<string, string>;
  clock: Clock;
  /** Host facts rarely change: re-probe them every this many cycles. */
  hostEveryCycles?: number;
}

const MAX_XIDS_KEPT = 1000;

export class NodeProber {
  private host: HostInfo | undefined;
  private lastProbe: GpuProbe | undefined;
  private knownGpus: GpuInfo[] = [];
  private hcas: HcaInfo[] = [];
  private xids: XidEvent[] = [];
  private cycle = 0;

  constructor(private readonly deps: NodeProberDeps) {}

  private async timed<T>(collector: string, runs: CollectorRun[], fn: () => Promise<T>): Promise<{ value?: T; error?: unknown }> {
    const t0 = performance.now();
    try {
      const value = await fn();
      runs.push({ collector, durationMs: performance.now() - t0 });
      return { value };
    } catch (error) {
      runs.push({ collector, durationMs: performance.now() - t0, error: error instanceof Error ? error.message : String(error) });
      return { error };
    }
  }

  async collect(): Promise<NodeSnapshot> {
    const d = this.deps;
    const runs: CollectorRun[] = [];
    const hostEvery = d.hostEveryCycles ?? 60;
    if (d.host && (this.host === undefined || this.cycle % hostEvery === 0)) {
      const r = await this.timed('host', runs, () => d.host!.probe());
      if (r.value) this.host = r.value;
    }
    let probe: GpuProbe | null = null;
    let probeError: unknown;
    if (d.gpu) {
      const r = await this.timed(d.gpu.name, runs, () => d.gpu!.probe());
      if (r.value) {
        probe = r.value;
        this.lastProbe = r.value;
        this.knownGpus = r.value.gpus;
      } else probeError = r.error;
    }
    if (d.infinibandRoot) {
      const r = await this.timed('infiniband', runs, () => readInfiniband({ root: d.infinibandRoot! }));
      if (r.value) this.hcas = r.value;
    }
    if (d.kernelLog) {
      const r = await this.timed('kernel-log', runs, () => d.kernelLog!.poll());
      if (r.value && r.value.length > 0) this.xids = [...this.xids, ...r.value].slice(-MAX_XIDS_KEPT);
    }
    this.cycle++;
    const now = d.clock.nowMs();
    const report = d.evaluator.evaluate(
      {
        probe,
        ...(probeError !== undefined ? { probeError } : {}),
        xids: this.xids,
        hcas: this.hcas,
        ...(probe?.nvlink ? { nvlink: probe.nvlink } : {}),
        knownGpus: this.knownGpus,
      },
      now,
    );
    const src = probe ?? this.lastProbe;
    const inventory = emptyInventory(d.nodeName);
    if (this.host) inventory.host = this.host;
    if (src) {
      inventory.firmware = src.firmware;
      inventory.gpus = src.gpus;
      inventory.topology.linkMatrix = src.linkMatrix;
      inventory.topology.linkGroups = src.linkGroups;
      inventory.topology.fabric = src.fabric;
    }
    inventory.hcas = this.hcas;
    inventory.topology.domains = { ...d.topology };
    return {
      inventory,
      verdicts: report.verdicts,
      jobFindings: report.jobFindings,
      samples: probe?.samples ?? [],
      xids: this.xids,
      runs,
      collectedMs: now,
    };
  }

  async close(): Promise<void> {
    await this.deps.kernelLog?.close();
  }
}
