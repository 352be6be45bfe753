/**
 * Health rule types. Rules are pure functions of what the collectors saw plus configuration:
 * no I/O, no clock, no randomness. The evaluator (evaluator.ts) adds first-seen times from a clock
 * value passed in by the caller.
 */
import type { GpuInfo, HcaInfo, HealthAction, Severity } from '../../shared/domain/index.js';
import type { GpuProbe, NvlinkGpuStatus, XidEvent } from '../core/index.js';

/** Where a finding belongs: the node's health, the job running on the GPU, or a record only. */
export type FindingScope = 'node' | 'job' | 'info';

/** What a rule reports; the evaluator turns node findings into HealthVerdicts. */
export interface Finding {
  check: string;
  severity: Severity;
  gpu?: number;
  evidence: string;
  scope: FindingScope;
  /** Distinguishes findings of one check on one GPU (e.g. the XID number, the HCA port), for first-seen tracking. */
  key?: string;
  /** For job-scope findings: the process the driver named, when it did. */
  pid?: number;
  processName?: string;
  /** Node findings: what the scheduler should do (absent: fail evicts, otherwise nothing; see verdictAction). */
  action?: HealthAction;
  /** Node findings: what a person must do to repair it (reset-gpu, reboot, contact-support...). */
  remedy?: string;
}

/**
 * How to treat each XID. Precedence: a code in one of these lists is judged by the list (an
 * operator's explicit choice wins); otherwise by NVIDIA's resolution class (rules/xid-catalog.ts);
 * codes in neither follow `unknown`. A failGpu code takes its action and remedy from the catalog
 * when the catalog fails it too, else evict with no remedy.
 */
export interface XidPolicy {
  /** The GPU needs a reset / reboot / service: fail it. */
  failGpu: number[];
  /** Caused by the application (bad access, illegal instruction, contained ECC): recorded against the job. */
  application: number[];
  /** Recorded only (e.g. ECC page retirement / row remap events, reported by their own rules). */
  informational: number[];
  unknown: 'warn' | 'info';
  /** Per-XID action for its node findings, over the list's or class's (the remedy stays); keys are XID numbers. */
  actions?: Readonly<Record<string, HealthAction>>;
}

export interface IbPolicy {
  /** Only these HCAs (e.g. the GPU-facing NICs); empty = all. */
  devices: string[];
  /** Only ports with these link layers; default InfiniBand (RoCE NICs report Ethernet: add it to watch them). */
  linkLayers: string[];
  /** Ports below this rate (Gb/s) are reported; 0 = no rate check. */
  minRateGbps: number;
}

export interface ThrottlePolicy {
  /** Share of the time between two probes spent in HW/thermal slowdown that raises a warning. */
  minShare: number;
}

export interface HealthConfig {
  /** GPUs this node must have; 0 = the most seen since the agent started. */
  expectedGpus: number;
  xid: XidPolicy;
  ib: IbPolicy;
  throttle: ThrottlePolicy;
  /**
   * Whether every GPU must have active NVLinks: 'auto' = GPUs whose name marks an SXM/HGX/NVL part
   * (see nvlinkExpectedByName), true = all, false = never.
   */
  expectNvlink: 'auto' | boolean;
  /** Total retired pages at or above which a GPU fails (NVIDIA's RMA guidance is 60). */
  retiredPagesFailAt: number;
}

/**
 * NVIDIA XID catalog resolution (docs.nvidia.com/deploy/xid-errors): reset/reboot/RMA-class codes fail
 * the GPU. These agree with the catalog table (rules/xid-catalog.ts), which judges every code not
 * listed here, except 43 (catalog: IGNORE), kept with the application codes; failGpu is also the set of XIDs kept judged until the node reboots (agent/main.ts).
 */
export const DEFAULT_XID_POLICY: XidPolicy = {
  failGpu: [48, 64, 74, 79, 95, 119, 120, 136, 140, 143],
  application: [13, 31, 43, 45, 94],
  informational: [63, 92],
  unknown: 'warn',
};

export const DEFAULT_HEALTH_CONFIG: HealthConfig = {
  expectedGpus: 0,
  xid: DEFAULT_XID_POLICY,
  ib: { devices: [], linkLayers: ['InfiniBand'], minRateGbps: 0 },
  throttle: { minShare: 0.05 },
  expectNvlink: 'auto',
  retiredPagesFailAt: 60,
};

/** Everything the rules look at in one evaluation. Absent parts are not checked. */
export interface HealthInput {
  /** Latest successful GPU probe. */
  probe?: GpuProbe | null;
  /** The previous successful probe and the time between the two (ms), for delta rules. */
  previous?: { probe: GpuProbe; intervalMs: number } | null;
  /** The error of the latest GPU probe, if it failed. */
  probeError?: unknown;
  /** XID events to judge (the agent decides the window: since boot, since start...). */
  xids?: XidEvent[];
  hcas?: HcaInfo[];
  nvlink?: NvlinkGpuStatus[];
  /** GPUs to attribute findings to when the probe failed (e.g. the last good inventory). */
  knownGpus?: GpuInfo[];
}

export type Rule = (input: HealthInput, config: HealthConfig) => Finding[];
