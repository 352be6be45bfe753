/**
 * Pure: the latency probe's packet and the per-window bookkeeping of one prober.
 *
 * Packet (16 bytes, UDP): "GLP1", probe id (u32 BE), 8 bytes the responder echoes unchanged.
 */
import { newCounts, quantileUs, record, toSparse } from '../../shared/histogram/index.js';
import { LATENCY_SCHEMA_VERSION, type LatencyWindow } from '../../shared/telemetry/index.js';

export const PROBE_BYTES = 16;
const MAGIC = 0x474c5031; // "GLP1"

export function encodeProbe(id: number): Buffer {
  const b = Buffer.alloc(PROBE_BYTES);
  b.writeUInt32BE(MAGIC, 0);
  b.writeUInt32BE(id >>> 0, 4);
  return b;
}

/** The probe id, or -1 when the datagram is not a probe. */
export function decodeProbe(b: Buffer): number {
  if (b.length !== PROBE_BYTES || b.readUInt32BE(0) !== MAGIC) return -1;
  return b.readUInt32BE(4);
}

interface PeerStats {
  sent: number;
  lost: number;
  counts: Float64Array;
  maxUs: number;
}

/** One window's RTTs per peer; window() reads it out and starts afresh. */
export class WindowStats {
  private peers = new Map<string, PeerStats>();

  private of(peer: string): PeerStats {
    let s = this.peers.get(peer);
    if (!s) this.peers.set(peer, (s = { sent: 0, lost: 0, counts: newCounts(), maxUs: 0 }));
    return s;
  }

  sent(peer: string): void {
    this.of(peer).sent++;
  }

  lost(peer: string): void {
    this.of(peer).lost++;
  }

  rtt(peer: string, us: number): void {
    const s = this.of(peer);
    record(s.counts, us);
    if (us > s.maxUs) s.maxUs = us;
  }

  /** The window message for what was seen since the last call (peers with nothing to say are left out). */
  window(node: string, startMs: number, windowMs: number): LatencyWindow {
    const peers: LatencyWindow['peers'] = [];
    for (const [peer, s] of [...this.peers].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (s.sent === 0 && s.lost === 0 && s.maxUs === 0) continue;
      peers.push({
        peer,
        sent: s.sent,
        lost: s.lost,
        buckets: toSparse(s.counts),
        p50Us: Math.round(quantileUs(s.counts, 0.5, s.maxUs)),
        p99Us: Math.round(quantileUs(s.counts, 0.99, s.maxUs)),
        maxUs: Math.round(s.maxUs),
      });
    }
    this.peers = new Map();
    return { v: LATENCY_SCHEMA_VERSION, node, startMs, windowMs, peers };
  }
}
