/**
 * Domain types shared by both daemons. These are plain data: no methods, no I/O.
 * Wire conversion to and from the generated protobuf types lives in shared/wire only.
 */

/** Connectivity of a node as seen by the scheduler. */
export type Connectivity = 'ready' | 'lost';
/** Whether a node may take new work; set by operators or health policy, kept across reconnects. */
export type Schedulability = 'schedulable' | 'cordoned' | 'draining';
/** Health of a node or GPU, the worst verdict that applies. */
export type Severity = 'ok' | 'warn' | 'fail';
export type Vendor = 'nvidia' | 'amd' | 'unknown';

/** A group of GPU indices on one node that share a fast link (NVLink/NVSwitch, then PCIe switch, then NUMA node). */
export interface LinkGroup {
  /** What ties the group together, finest first. */
  kind: 'nvlink' | 'pcie-switch' | 'numa';
  gpus: number[];
}

export interface GpuInfo {
  index: number;
  uuid: string;
  name: string;
  vendor: Vendor;
  /** Total framebuffer memory in MiB (0 when unknown). */
  memoryMiB: number;
  pciBusId: string;
  serial: string;
  vbiosVersion: string;
  inforomVersion: string;
  /** GSP firmware version, where the driver reports one. */
  gspFirmwareVersion: string;
  /** NUMA node of the GPU, -1 when unknown. */
  numaNode: number;
  /** Multi-node NVLink domain id ("<clusterUuid>/<cliqueId>"), empty unless the fabric info is trusted. */
  nvlinkDomain: string;
  /** This GPU's row of the link matrix (`nvidia-smi topo -m`), in the order of Topology.linkMatrix.devices. */
  linkRow: string[];
  /** Whether MIG mode is enabled. */
  migEnabled: boolean;
  /**
   * Minor number of the GPU's device file: NVIDIA /dev/nvidia<minor> (`<minor_number>` of
   * `nvidia-smi -q -x`; not the index), AMD its render node /dev/dri/renderD<minor> (the KFD node's
   * `drm_render_minor`). null: not reported (N/A, e.g. some vGPU guests; no KFD topology). Agent-local:
   * not on the wire (absent in an inventory read from the wire). The runner's device rules use it.
   */
  minorNumber?: number | null;
  /** MIG instances (issue 24), as `-q -x` lists them; absent or empty without MIG. */
  migInstances?: MigInstance[];
  /** Place in an NVL72-class rack (`platformInfo`, GB200/GB300); absent or null where not reported. */
  platform?: GpuPlatform | null;
}

/**
 * One MIG device. `profile` is derived from (GPU model, SM count, memory) by agent/core/nvidia/mig-profiles.ts
 * ('' when no table entry matches). `-q -x` holds no placement or UUID: uuid '' and placementStart -1
 * mean unknown (until `nvidia-smi -L` / `mig -lgi` are read).
 */
export interface MigInstance {
  index: number;
  gpuInstanceId: number;
  computeInstanceId: number;
  multiprocessorCount: number;
  memoryMiB: number;
  profile: string;
  uuid: string;
  placementStart: number;
}

/** `platformInfo` of a GB200/GB300 GPU: the rack (chassis) and the tray it sits in; -1 for a number not reported. */
export interface GpuPlatform {
  chassisSerial: string;
  slotNumber: number;
  trayIndex: number;
  hostId: number;
  moduleId: number;
  peerType: string;
}

export interface HcaPort {
  port: number;
  state: string; // e.g. ACTIVE, DOWN
  physState: string; // e.g. LinkUp, Polling
  rateGbps: number;
  linkLayer: string; // InfiniBand or Ethernet
}

export interface HcaInfo {
  name: string;
  hcaType: string;
  firmwareVersion: string;
  boardId: string;
  ports: HcaPort[];
}

export interface HostInfo {
  hostname: string;
  cpuModel: string;
  cpuCores: number;
  memoryBytes: number;
  numaNodes: number;
  os: string;
  kernel: string;
  arch: string;
  biosVendor: string;
  biosVersion: string;
  biosDate: string;
  baseboard: string;
  systemSerial: string;
}

export interface FirmwareInfo {
  driverVersion: string;
  cudaVersion: string;
  /** The tool whose answer gave the static facts: nvidia-smi, amd-smi, rocm-smi (issue 24); absent or '' unknown. */
  tool?: string;
}

export interface FabricInfo {
  clusterUuid: string;
  cliqueId: number;
  state: string;
  status: string;
  /** True only when state is Completed, status Success and the cluster UUID non-zero. */
  trusted: boolean;
  /**
   * Why the fabric's health sub-fields say degraded (route unhealthy, recovery in progress, incorrect
   * configuration, health summary not Healthy...; issue 24), '' or absent when healthy or not reported.
   * The scheduler then trusts no node of this NVLink domain as NVLink-connected.
   */
  degradedReason?: string;
}

export interface LinkMatrix {
  /** Column and row names, e.g. GPU0..GPU7, NIC0.. */
  devices: string[];
  /** rows[i][j]: link between devices[i] and devices[j] (X, NV18, PIX, PXB, PHB, NODE, SYS). */
  rows: string[][];
}

export interface NodeTopology {
  linkMatrix: LinkMatrix;
  linkGroups: LinkGroup[];
  fabric: FabricInfo | null;
  /** Where the node sits, level name -> domain name (e.g. {leaf: 'leaf-3', spine: 'spine-1'}), from agent labels. */
  domains: Record<string, string>;
  /** NIC legend of the link matrix: matrix device (NIC0) -> RDMA device (mlx5_0). */
  nics: Record<string, string>;
}

export interface Inventory {
  host: HostInfo;
  firmware: FirmwareInfo;
  gpus: GpuInfo[];
  hcas: HcaInfo[];
  topology: NodeTopology;
}

export interface HealthVerdict {
  check: string;
  severity: Severity;
  /** GPU index, when the verdict concerns one GPU. */
  gpu?: number;
  evidence: string;
  /** Unix ms when this condition was first seen. */
  firstSeenMs: number;
  /** What the scheduler does about it (issue 20's rules); absent: fail → evict, otherwise none. */
  action?: HealthAction;
  /** What a person must do to repair it, where the rule knows (e.g. reset-gpu, reboot). */
  remedy?: string;
}

/**
 * A verdict's action: none (record only), cordon (no new work), drain (no new work; running gangs
 * finish, then the node is diagnosed), evict (stop and requeue its running gangs, no retry used; cordon).
 */
export type HealthAction = 'none' | 'cordon' | 'drain' | 'evict';
export const HEALTH_ACTIONS: ReadonlySet<HealthAction> = new Set(['none', 'cordon', 'drain', 'evict']);

/** A verdict's action as the scheduler applies it: its own, or evict for fail and none otherwise. */
export function verdictAction(v: Pick<HealthVerdict, 'severity' | 'action'>): HealthAction {
  return v.action ?? (v.severity === 'fail' ? 'evict' : 'none');
}

/** The scheduler's record of a node. */
export interface NodeRecord {
  name: string;
  address: string;
  connectivity: Connectivity;
  schedulability: Schedulability;
  /** Why a node is cordoned or draining (operator text or health rule). */
  schedulabilityReason: string;
  /** Draining with a deadline: gangs still on the node then are stopped and requeued (unix ms; 0 or absent: none). */
  drainDeadlineMs?: number;
  /**
   * Joined while the scheduler's nodes.requireApproval was on and not approved yet (`gantry node
   * approve`): takes no work. Absent: approved, or joined without approval required.
   */
  awaitingApproval?: boolean;
  health: Severity;
  verdicts: HealthVerdict[];
  inventory: Inventory;
  labels: Record<string, string>;
  agentVersion: string;
  registeredMs: number;
  lastSeenMs: number;
  reportsReceived: number;
  /**
   * The accounts the node's agent runs ranks as (its runner.allowedUsers) and whether it runs them
   * as root (runner.allowRoot), as it registered them. Absent in records from before agents
   * reported them: none, and false, until the agent registers again.
   */
  allowedUsers?: string[];
  allowRoot?: boolean;
  /** The last diagnostic the scheduler had the node run (a node drained for health); absent: none yet. */
  lastDiagnostic?: NodeDiagnostic;
}

/** A diagnostic's outcome as the scheduler keeps it on the node record (issue 20, diagnostics and return). */
export interface NodeDiagnostic {
  /** When it finished (or was given up on), unix ms. */
  atMs: number;
  passed: boolean;
  /** What ran, e.g. "dcgmi diag -r 1" ('' when nothing could run). */
  command: string;
  /** One line for people: the error, or the last line of the output. */
  summary: string;
  /** Which try of the node's current drain this was (1-based). */
  tries: number;
}

export function emptyInventory(hostname = ''): Inventory {
  return {
    host: {
      hostname,
      cpuModel: '',
      cpuCores: 0,
      memoryBytes: 0,
      numaNodes: 0,
      os: '',
      kernel: '',
      arch: '',
      biosVendor: '',
      biosVersion: '',
      biosDate: '',
      baseboard: '',
      systemSerial: '',
    },
    firmware: { driverVersion: '', cudaVersion: '' },
    gpus: [],
    hcas: [],
    topology: { linkMatrix: { devices: [], rows: [] }, linkGroups: [], fabric: null, domains: {}, nics: {} },
  };
}

/** The worst severity of a list of verdicts ('ok' when empty). */
export function worstSeverity(verdicts: readonly { severity: Severity }[]): Severity {
  let worst: Severity = 'ok';
  for (const v of verdicts) {
    if (v.severity === 'fail') return 'fail';
    if (v.severity === 'warn') worst = 'warn';
  }
  return worst;
}

/** A scheduler's role in its control plane (scheduler/ha): `single` without ha.enabled; `none` between roles. */
export type ControlPlaneRole = 'leader' | 'standby' | 'single' | 'none';

/** What one scheduler says of its place in the control plane (GetControlPlane, `gantry status`). */
export interface ControlPlaneMember {
  schedulerId: string;
  address: string;
  role: ControlPlaneRole;
  term: number;
  roleSinceUnixMs: number;
  appliedSeq: number;
  headSeq: number;
  leaderId: string;
  leaderAddress: string;
}
