/**
 * NVIDIA's XID resolution classes as data, and what each class means for a Gantry node: severity,
 * scope, the scheduler's action (HealthAction) and the remedy a person applies.
 *
 * Source: the "Resolution Bucket (Immediate Action)" column of NVIDIA's Xid catalog for Ampere and
 * newer GPUs (docs.nvidia.com/deploy/xid-errors/analyzing-xid-catalog.html) and, where noted, the GPU
 * debug guidelines (docs.nvidia.com/deploy/gpu-debug-guidelines). Encoded by hand for the XIDs a
 * training fleet sees; codes not listed here follow XidPolicy.unknown. Pure: no I/O.
 *
 * Two classes are resolved from the message itself:
 * - WORKFLOW_NVLINK5_ERR (144-150, Blackwell NVLink 5): the catalog's decode of intrInfo/errorStatus
 *   is not encoded; a message marked `nonfatal` warns, anything else is treated as fatal (reset).
 * - XID_154 (GPU recovery action changed): the new recovery action it names (None, GPU Reset
 *   Required, Node Reboot Required, Drain P2P, Drain and Reset) decides, like gpu_recovery_action.
 */
import type { HealthAction, Severity } from '../../../shared/domain/index.js';
import type { FindingScope } from '../types.js';

/** NVIDIA's resolution buckets used below (DRAIN_AND_RESET: the catalog's "drain and reset" wording for 48 with 63/64 and for XID 154's value 4). */
export type XidResolutionClass =
  | 'RESTART_APP'
  | 'IGNORE'
  | 'WORKFLOW_XID_45'
  | 'RESET_GPU'
  | 'WORKFLOW_XID_48'
  | 'WORKFLOW_NVLINK_ERR'
  | 'WORKFLOW_NVLINK5_ERR'
  | 'DRAIN_AND_RESET'
  | 'RESTART_BM'
  | 'RESTART_VM'
  | 'CONTACT_SUPPORT'
  | 'CHECK_MECHANICALS'
  | 'XID_154';

/** What a class means here. `action`/`remedy` are absent where nothing is done to the node. */
export interface XidOutcome {
  severity: Severity;
  scope: FindingScope;
  action?: HealthAction;
  /** A stable code: reset-gpu, reboot, contact-support, check-mechanicals. */
  remedy?: string;
}

/** Remedy codes (text for people is at the edges: CLI, docs). */
export const REMEDY_RESET_GPU = 'reset-gpu';
export const REMEDY_REBOOT = 'reboot';
export const REMEDY_CONTACT_SUPPORT = 'contact-support';
export const REMEDY_CHECK_MECHANICALS = 'check-mechanicals';

const RESET: XidOutcome = { severity: 'fail', scope: 'node', action: 'evict', remedy: REMEDY_RESET_GPU };
const REBOOT: XidOutcome = { severity: 'fail', scope: 'node', action: 'evict', remedy: REMEDY_REBOOT };
const DRAIN_RESET: XidOutcome = { severity: 'fail', scope: 'node', action: 'drain', remedy: REMEDY_RESET_GPU };
const JOB: XidOutcome = { severity: 'warn', scope: 'job' };
const INFO: XidOutcome = { severity: 'ok', scope: 'info' };

/** Class -> outcome, for the classes that do not read the message. */
export const XID_CLASS_OUTCOMES: Readonly<Record<Exclude<XidResolutionClass, 'WORKFLOW_NVLINK5_ERR' | 'XID_154'>, XidOutcome>> = {
  RESTART_APP: JOB,
  // Channel teardown after another error (or after a kill): the application's record, never the node's.
  WORKFLOW_XID_45: JOB,
  IGNORE: INFO,
  RESET_GPU: RESET,
  // Solo: reset the GPU (with 63/64 the catalog says drain and reset; the row-remap rule sees those).
  WORKFLOW_XID_48: RESET,
  WORKFLOW_NVLINK_ERR: RESET,
  DRAIN_AND_RESET: DRAIN_RESET,
  RESTART_BM: REBOOT,
  RESTART_VM: REBOOT,
  CONTACT_SUPPORT: { severity: 'fail', scope: 'node', action: 'evict', remedy: REMEDY_CONTACT_SUPPORT },
  CHECK_MECHANICALS: { severity: 'fail', scope: 'node', action: 'cordon', remedy: REMEDY_CHECK_MECHANICALS },
};

/** XID -> resolution class (immediate action), from the catalog named above. */
export const XID_CATALOG: ReadonlyMap<number, XidResolutionClass> = new Map<number, XidResolutionClass>([
  [8, 'RESTART_APP'], // GPU stopped processing (idle timeout)
  [11, 'RESTART_APP'], // invalid or corrupted push buffer stream
  [13, 'RESTART_APP'], // graphics engine exception (investigatory: WORKFLOW_XID_13)
  [31, 'RESTART_APP'], // GPU memory page fault (investigatory: WORKFLOW_XID_31)
  [43, 'IGNORE'], // GPU stopped processing: follows the error that stopped the channel (default policy: application)
  [45, 'WORKFLOW_XID_45'], // preemptive cleanup, due to previous errors
  [46, 'RESET_GPU'], // GPU stopped processing
  [48, 'WORKFLOW_XID_48'], // double bit ECC error
  [54, 'CHECK_MECHANICALS'], // auxiliary power is not connected to the GPU board
  [61, 'RESET_GPU'], // internal micro-controller breakpoint/warning (debug guidelines: reset the GPU)
  [62, 'RESET_GPU'], // internal micro-controller halt
  [63, 'IGNORE'], // row remapping / page retirement recorded (the row-remap rule judges the state)
  [64, 'RESET_GPU'], // row remapping / page retirement recording failure
  [68, 'RESET_GPU'], // NVDEC0 exception (video processor): hardware or driver
  [69, 'RESET_GPU'], // graphics engine class error
  [74, 'WORKFLOW_NVLINK_ERR'], // NVLink error
  [79, 'RESTART_BM'], // GPU has fallen off the bus
  [92, 'IGNORE'], // high single-bit ECC error rate
  [94, 'RESTART_APP'], // contained memory error
  [95, 'RESET_GPU'], // uncontained memory error
  [109, 'RESET_GPU'], // context switch timeout
  [110, 'RESET_GPU'], // security fault
  [119, 'RESET_GPU'], // GSP RPC timeout
  [120, 'RESET_GPU'], // GSP error
  // C2C link (Grace-GPU) corrected error: no operational impact, a reset retrains the link. Drained, not evicted.
  [121, 'DRAIN_AND_RESET'],
  [136, 'RESET_GPU'], // link training failed
  [140, 'RESET_GPU'], // ECC unrecovered error
  [143, 'RESET_GPU'], // GPU initialization error
  [144, 'WORKFLOW_NVLINK5_ERR'], // NVLink: SAW error
  [145, 'WORKFLOW_NVLINK5_ERR'], // NVLink: RLW error
  [146, 'WORKFLOW_NVLINK5_ERR'], // NVLink: TLW error
  [147, 'WORKFLOW_NVLINK5_ERR'], // NVLink: TREX error
  [148, 'WORKFLOW_NVLINK5_ERR'], // NVLink: NVLPW_CTRL error
  [149, 'WORKFLOW_NVLINK5_ERR'], // NVLink: NETIR error
  [150, 'WORKFLOW_NVLINK5_ERR'], // NVLink: MSE error
  [151, 'RESTART_VM'], // key rotation error
  [154, 'XID_154'], // GPU recovery action changed
  // Resource retirement failure: immediate IGNORE, investigatory CONTACT_SUPPORT; no repair resources remain.
  [157, 'CONTACT_SUPPORT'],
  [158, 'RESET_GPU'], // GPU fatal timeout
]);

/** A recovery action as the driver names it (gpu_recovery_action, XID 154). */
export type RecoveryKind = 'none' | 'reset' | 'reboot' | 'drain';

/**
 * "None" / "Reset" / "GPU Reset Required" / "Reboot" / "Node Reboot Required" / "Drain" /
 * "Drain P2P" / "Drain and Reset" (any case) -> kind; anything else (N/A, empty, new words) -> null.
 */
export function recoveryKindOf(text: string): RecoveryKind | null {
  const t = text.trim().toLowerCase();
  if (t === 'none') return 'none';
  if (/\bdrain/.test(t)) return 'drain';
  if (/\breboot/.test(t)) return 'reboot';
  if (/\breset/.test(t)) return 'reset';
  return null;
}

/** What a recovery action asks of the node; null for none. */
export function recoveryOutcome(kind: RecoveryKind): XidOutcome | null {
  switch (kind) {
    case 'none':
      return null;
    case 'reset':
      return RESET;
    case 'reboot':
      return REBOOT;
    case 'drain':
      // Drain: no new work, let the running gangs finish; the GPU is reset after.
      return DRAIN_RESET;
  }
}

/** XID 154's numeric values (NVML's GPU recovery action enum), for messages that give only the code. */
const RECOVERY_CODES: Readonly<Record<number, RecoveryKind>> = { 0: 'none', 1: 'reset', 2: 'reboot', 3: 'drain', 4: 'drain' };

/** The action an XID 154 message changes to: "... changed from 0x0 (None) to 0x2 (Node Reboot Required)". */
export function xid154Kind(message: string): RecoveryKind | null {
  const m = /\bto\s+(0x[0-9a-f]+|\d+)\s*(?:\(([^)]*)\))?/i.exec(message);
  if (!m) return null;
  const named = m[2] !== undefined ? recoveryKindOf(m[2]) : null;
  if (named) return named;
  return RECOVERY_CODES[Number(m[1])] ?? null;
}

/**
 * The catalog's outcome for one XID and its message; null when the catalog does not know the code
 * (or XID 154 names no action it can read).
 */
export function catalogOutcome(xid: number, message: string): { cls: XidResolutionClass; outcome: XidOutcome } | null {
  const cls = XID_CATALOG.get(xid);
  if (cls === undefined) return null;
  if (cls === 'WORKFLOW_NVLINK5_ERR') {
    return { cls, outcome: /\bnon-?fatal\b/i.test(message) ? { severity: 'warn', scope: 'node' } : RESET };
  }
  if (cls === 'XID_154') {
    const kind = xid154Kind(message);
    if (kind === null) return null;
    return { cls, outcome: recoveryOutcome(kind) ?? INFO };
  }
  return { cls, outcome: XID_CLASS_OUTCOMES[cls] };
}
