/** Realistic latency windows for the telemetry benchmark: every node of hgx5000 probing its chosen peers, in the wire encoding given. */
import { newCounts, record, toSparse } from '../shared/histogram/index.js';
import { encodeLatencyWindow, encodeLatencyWindowJson, type LatencyWireEncoding } from '../shared/telemetry/index.js';
import { latencyTelemetrySubject } from '../shared/events/index.js';
import { choosePeers, layoutFromTree } from '../scheduler/telemetry/index.js';
import { hgx5000 } from './clusters.js';
import { Prng } from './prng.js';

export function benchWindows(encoding: LatencyWireEncoding = 'binary'): { subjects: string[]; payloads: Uint8Array[] } {
  const encode = encoding === 'json' ? encodeLatencyWindowJson : encodeLatencyWindow;
  const tree = hgx5000().tree;
  const peers = choosePeers(layoutFromTree(tree), { peersPerLevel: [2, 1, 1] });
  const rng = new Prng(42);
  const subjects: string[] = [];
  const payloads: Uint8Array[] = [];
  for (const [node, list] of peers) {
    subjects.push(latencyTelemetrySubject(node));
    payloads.push(
      encode({
        v: 1,
        node,
        startMs: 1_700_000_000_000,
        windowMs: 10_000,
        peers: list.map((peer) => {
          const c = newCounts();
          for (let i = 0; i < 100; i++) record(c, 20 + rng.next() * 30 + (rng.next() < 0.02 ? 200 : 0));
          return { peer, sent: 100, lost: 0, buckets: toSparse(c), p50Us: 30, p99Us: 220, maxUs: 250 };
        }),
      }),
    );
  }
  return { subjects, payloads };
}
