/**
 * The east-west latency window an agent publishes on gantry.telemetry.latency.<node>, once per
 * window: per peer probed, the RTT histogram's bucket counts (mergeable; see shared/histogram) with
 * p50, p99 and max for reading, and probes sent and lost. Versioned JSON; pure encode/decode.
 */
import { InvalidArgumentError } from '../errors/index.js';

export const LATENCY_SCHEMA_VERSION = 1 as const;

export interface LatencyPeerWindow {
  /** The peer's node name. */
  peer: string;
  /** Probes sent to it in the window. */
  sent: number;
  /** Probes with no reply within the timeout (not in the histogram). */
  lost: number;
  /** Sparse bucket counts of the RTTs: [bucket, count, ...] (shared/histogram buckets). */
  buckets: number[];
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

export interface LatencyWindow {
  v: typeof LATENCY_SCHEMA_VERSION;
  /** The probing node. */
  node: string;
  /** Window start (Unix ms) and length. */
  startMs: number;
  windowMs: number;
  peers: LatencyPeerWindow[];
}

export function encodeLatencyWindow(w: LatencyWindow): Uint8Array {
  return Buffer.from(JSON.stringify(w));
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

/**
 * Decodes and checks a window. Throws InvalidArgumentError naming the field. Bucket lists are
 * checked where they are added (shared/histogram addSparse), so one pass reads them.
 */
export function decodeLatencyWindow(data: Uint8Array | string): LatencyWindow {
  let o: unknown;
  try {
    o = JSON.parse(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    throw new InvalidArgumentError('latency window', 'is not JSON');
  }
  if (typeof o !== 'object' || o === null) throw new InvalidArgumentError('latency window', 'must be an object');
  const w = o as Record<string, unknown>;
  if (w.v !== LATENCY_SCHEMA_VERSION) throw new InvalidArgumentError('v', `unsupported latency schema version ${String(w.v)} (expected ${LATENCY_SCHEMA_VERSION})`);
  if (typeof w.node !== 'string' || w.node === '') throw new InvalidArgumentError('node', 'must be a non-empty string');
  if (typeof w.startMs !== 'number') throw new InvalidArgumentError('startMs', 'must be a number');
  if (!isCount(w.windowMs)) throw new InvalidArgumentError('windowMs', 'must be a non-negative integer');
  if (!Array.isArray(w.peers)) throw new InvalidArgumentError('peers', 'must be a list');
  const peers = w.peers as unknown[];
  for (let i = 0; i < peers.length; i++) {
    const r = peers[i] as Record<string, unknown> | null;
    if (typeof r !== 'object' || r === null) throw new InvalidArgumentError(`peers[${i}]`, 'must be an object');
    if (typeof r.peer !== 'string' || r.peer === '') throw new InvalidArgumentError(`peers[${i}].peer`, 'must be a non-empty string');
    if (!isCount(r.sent)) throw new InvalidArgumentError(`peers[${i}].sent`, 'must be a non-negative integer');
    if (!isCount(r.lost)) throw new InvalidArgumentError(`peers[${i}].lost`, 'must be a non-negative integer');
    if (!Array.isArray(r.buckets)) throw new InvalidArgumentError(`peers[${i}].buckets`, 'must be a list');
  }
  return o as LatencyWindow;
}
