/**
 * Types shared by the agent's collectors. Domain types (GpuInfo, FirmwareInfo, ...) come from
 * shared/domain; what is here is the collector-side detail the domain does not carry: per-GPU
 * samples (the readings health rules look at) and the probe result as a whole.
 */
import type { FabricInfo, FirmwareInfo, GpuInfo, LinkGroup, LinkMatrix } from '../../shared/domain/index.js';
import type { NvlinkGpuStatus } from './nvidia/parse-nvlink.js';

/** What a bounded process run returns. */
export interface ProbeResult {
  stdout: string;
  stderr: string;
  /** Exit code; non-zero only when the caller allowed it (see RunOptions.allowNonZeroExit). */
  exitCode: number;
  durationMs: number;
}

/** Clock-throttle ("clocks event") reasons, normalised across the pre-535 `clocks_throttle_reason_*` and later `clocks_event_reason_*` names. */
export interface ClockEventReasons {
  gpuIdle: boolean | null;
  applicationsClocksSetting: boolean | null;
  swPowerCap: boolean | null;
  hwSlowdown: boolean | null;
  hwThermalSlowdown: boolean | null;
  hwPowerBrakeSlowdown: boolean | null;
  syncBoost: boolean | null;
  swThermalSlowdown: boolean | null;
  displayClocksSetting: boolean | null;
}

/** Lifetime counters (microseconds) of time spent in each throttle reason, where the driver reports them. */
export interface ClockEventCounters {
  swPowerCapUs: number | null;
  syncBoostUs: number | null;
  swThermalSlowdownUs: number | null;
  hwThermalSlowdownUs: number | null;
  hwPowerBrakeUs: number | null;
}

export interface EccCounts {
  /** Since the last driver load. */
  volatileCorrectable: number | null;
  volatileUncorrectable: number | null;
  /** Lifetime (inforom). */
  aggregateCorrectable: number | null;
  aggregateUncorrectable: number | null;
}

export interface RetiredPages {
  singleBitCount: number | null;
  doubleBitCount: number | null;
  /** A retirement waits for the next driver reload. */
  pending: boolean | null;
}

export interface RemappedRows {
  correctable: number | null;
  uncorrectable: number | null;
  /** A remap waits for the next GPU reset. */
  pending: boolean | null;
  /** Remapping failed: the GPU needs service. */
  failure: boolean | null;
}

export interface PcieLink {
  currentGen: number | null;
  maxGen: number | null;
  currentWidth: number | null;
  maxWidth: number | null;
  replayCounter: number | null;
}

/** Per-GPU fabric (NVLink domain) report, raw. The node-level trusted view is GpuProbe.fabric. */
export interface GpuFabric {
  state: string;
  status: string;
  cliqueId: number | null;
  clusterUuid: string;
  healthSummary: string;
  bandwidth: string;
  routeUnhealthy: string;
  /** state Completed, status Success and clusterUuid non-zero. */
  trusted: boolean;
  /** The health sub-fields that say degraded, as `field=value` (issue 24); empty or absent: healthy or not reported. */
  degraded?: string[];
}

/** Readings only /metrics exports (dcgm-exporter's fields); no health rule judges them. null: not reported. */
export interface GpuMetricReadings {
  smClockMHz: number | null;
  memoryClockMHz: number | null;
  /** 0..1 */
  encoderUtilizationRatio: number | null;
  decoderUtilizationRatio: number | null;
  /** Framebuffer memory the driver reserves. */
  memoryReservedBytes: number | null;
}

/** One GPU's readings from one probe. `null` means the tool did not report a value (N/A, absent, or an error). */
export interface GpuSample {
  index: number;
  uuid: string;
  pciBusId: string;
  temperatureCelsius: number | null;
  memoryTemperatureCelsius: number | null;
  powerWatts: number | null;
  powerLimitWatts: number | null;
  /** 0..1 */
  utilizationRatio: number | null;
  memoryUtilizationRatio: number | null;
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
  performanceState: string;
  eccEnabled: boolean | null;
  ecc: EccCounts;
  retiredPages: RetiredPages;
  /** null when the GPU does not support row remapping (pre-Ampere, GeForce). */
  remappedRows: RemappedRows | null;
  clockEventReasons: ClockEventReasons;
  clockEventCounters: ClockEventCounters;
  pcie: PcieLink;
  fabric: GpuFabric | null;
  /** Any element read "GPU is lost" (the GPU fell off the bus). */
  lost: boolean;
  /** Any element read "Unknown Error". */
  unknownError: boolean;
  /** Paths of elements that read "GPU is lost" / "Unknown Error" (first few), as evidence. */
  errorFields: string[];
  /** Number of compute processes listed for this GPU. */
  processCount: number;
  virtualizationMode: string;
  /**
   * `gpu_recovery_action` as the driver reports it (None, Reset, Reboot, Drain...; newer drivers),
   * read by the full probe only; null or absent where it reads N/A or is not reported.
   */
  recoveryAction?: string | null;
  /** Clocks, encoder/decoder, reserved memory (NVIDIA, both probes; absent for AMD). */
  metricReadings?: GpuMetricReadings;
}

/** Everything one GPU probe learns. */
export interface GpuProbe {
  vendor: 'nvidia' | 'amd';
  gpus: GpuInfo[];
  firmware: FirmwareInfo;
  /** Node-level fabric view (null when no GPU reports one). */
  fabric: FabricInfo | null;
  linkMatrix: LinkMatrix;
  linkGroups: LinkGroup[];
  /** NIC legend of the link matrix (NIC0 -> mlx5_0); empty when unknown. */
  nics: Record<string, string>;
  samples: GpuSample[];
  /** What the tool said it has attached (`attached_gpus`); may exceed gpus.length when some are missing. */
  attachedGpus: number;
  /** `nvidia-smi nvlink -s`, when the collector ran it (null otherwise, and for AMD). */
  nvlink: NvlinkGpuStatus[] | null;
  /** Non-fatal problems (e.g. topo -m failed), for logs and evidence. */
  warnings: string[];
  durationMs: number;
  /**
   * NVIDIA: 'full' (`-q -x`: inventory, firmware, fabric and every reading) or 'light'
   * (`--query-gpu` CSV: the per-cycle readings over the last full probe's inventory). Absent: full.
   */
  mode?: 'full' | 'light';
  /** Why a full probe ran when a light one was due (GPU errored, count changed, field missing...). */
  modeReason?: string;
}

/** A GPU collector: one vendor tool, probed on demand. */
export interface GpuCollector {
  readonly name: string;
  probe(): Promise<GpuProbe>;
}
