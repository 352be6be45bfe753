/**
 * One collection cycle: run the configured collectors (each bounded by its own timeout), judge the
 * result with the health evaluator, and assemble the node's Inventory. A failing collector never
 * stops the cycle: its error becomes evidence for the health rules and the last good data is kept.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { GpuInfo, HcaInfo, HealthVerdict, HostInfo, Inventory } from '../shared/domain/index.js';
import { emptyInventory } from '../shared/domain/index.js';
import type { Clock } from '../shared/clock/index.js';
import type { HostCollector, KernelLogReader } from './collectors/index.js';
import { readInfiniband } from './collectors/index.js';
import type { GpuCollector, GpuProbe, GpuSample, XidEvent } from './core/index.js';
import type { HealthEvaluator, JobFinding } from './health/index.js';

export interface CollectorRun {
  collector: string;
  durationMs: number;
  error?: string;
  /** GPU collectors: 'full' or 'light' probe (see GpuProbe.mode). */
  mode?: 'full' | 'light';
}

export interface NodeSnapshot {
  inventory: Inventory;
  verdicts: HealthVerdict[];
  /** Application-level findings (e.g. XID 13) for the job on that GPU, not the node. */
  jobFindings: JobFinding[];
  samples: GpuSample[];
  /** The XIDs judged in this cycle (see NodeProberDeps.stickyXids / xidWindowMs). */
  xids: XidEvent[];
  /** XIDs read from the kernel log in this cycle. */
  newXids: XidEvent[];
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
  /**
   * XIDs that need a GPU reset or a reboot (the health policy's fail class): judged for as long as
   * the agent runs (from /dev/kmsg that means since boot). Default: none.
   */
  stickyXids?: readonly number[];
  /** Every other XID (warn, job, info) is judged for this long after it happened. Default 10 min. */
  xidWindowMs?: number;
  /** Seconds since boot, to date /dev/kmsg records read on the first poll; default os.uptime. */
  uptimeSeconds?: () => number;
  /** kmsg records at or below this sequence number are skipped (a passed diagnostic cleared them; agent/kmsg-watermark.ts). */
  kmsgWatermark?: number;
}

const MAX_XIDS_KEPT = 1000;
export const DEFAULT_XID_WINDOW_MS = 10 * 60_000;

interface KeptXid {
  event: XidEvent;
  /** When it happened (kmsg: from its boot-relative time) or, for a dmesg file, when it was read. */
  atMs: number;
}

export class NodeProber {
  private host: HostInfo | undefined;
  private lastProbe: GpuProbe | undefined;
  private knownGpus: GpuInfo[] = [];
  private hcas: HcaInfo[] = [];
  private xids: KeptXid[] = [];
  private cycle = 0;
  private watermark: number;
  private maxSeq: number | null = null;

  constructor(private readonly deps: NodeProberDeps) {
    this.watermark = deps.kmsgWatermark ?? -1;
  }

  /** The highest kmsg sequence number among the XIDs read so far (null: none, or not from kmsg). */
  get highestXidSeq(): number | null {
    return this.maxSeq;
  }

  /**
   * A passed diagnostic: forget the XIDs read through kmsg sequence number `throughSeq` (and every
   * XID without a number: a dmesg file has none) and the evaluator's remembered state, so
   * sticky verdicts end; later polls skip records at or below the watermark.
   */
  clearThrough(throughSeq: number | null): void {
    if (throughSeq !== null) this.watermark = Math.max(this.watermark, throughSeq);
    this.xids = this.xids.filter((x) => x.event.seq !== null && (throughSeq === null || x.event.seq > throughSeq));
    this.deps.evaluator.reset();
  }

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
      const run = runs[runs.length - 1];
      if (run && r.value) run.mode = r.value.mode ?? 'full';
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
    const now = d.clock.nowMs();
    let newXids: XidEvent[] = [];
    if (d.kernelLog) {
      const r = await this.timed('kernel-log', runs, () => d.kernelLog!.poll());
      const fresh = (r.value ?? []).filter((e) => e.seq === null || e.seq > this.watermark);
      for (const e of fresh) if (e.seq !== null && (this.maxSeq === null || e.seq > this.maxSeq)) this.maxSeq = e.seq;
      if (fresh.length > 0) {
        newXids = fresh;
        const bootMs = now - (d.uptimeSeconds ?? os.uptime)() * 1000;
        for (const event of fresh) {
          const atMs = event.monotonicUs !== null ? Math.min(now, bootMs + event.monotonicUs / 1000) : now;
          this.xids.push({ event, atMs });
        }
      }
    }
    const xids = this.judgedXids(now);
    this.cycle++;
    const report = d.evaluator.evaluate(
      {
        probe,
        ...(probeError !== undefined ? { probeError } : {}),
        xids,
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
      inventory.topology.nics = src.nics;
    }
    inventory.hcas = this.hcas;
    inventory.topology.domains = { ...d.topology };
    return {
      inventory,
      verdicts: report.verdicts,
      jobFindings: report.jobFindings,
      samples: probe?.samples ?? [],
      xids,
      newXids,
      runs,
      collectedMs: now,
    };
  }

  /**
   * The XIDs the health rules judge now: the fail class once per (XID, GPU) for as long as the agent
   * runs; every other XID while it is younger than the window. Older ones are dropped.
   */
  private judgedXids(now: number): XidEvent[] {
    const sticky = new Set(this.deps.stickyXids ?? []);
    const windowMs = this.deps.xidWindowMs ?? DEFAULT_XID_WINDOW_MS;
    const stickySeen = new Set<string>();
    const keptSticky: KeptXid[] = [];
    const recent: KeptXid[] = [];
    for (const x of this.xids) {
      if (sticky.has(x.event.xid)) {
        const k = `${x.event.xid}@${x.event.busDevice}`;
        if (!stickySeen.has(k)) {
          stickySeen.add(k);
          keptSticky.push(x);
        }
      } else if (now - x.atMs < windowMs) recent.push(x);
    }
    this.xids = [...keptSticky, ...recent.slice(-MAX_XIDS_KEPT)];
    return this.xids.map((x) => x.event);
  }

  async close(): Promise<void> {
    await this.deps.kernelLog?.close();
  }
}
