/** The scheduler's latency loop takes binary windows and legacy JSON ones alike, and counts what it refuses. */
import t from 'tap';
import { Registry } from 'prom-client';
import { newCounts, record, toSparse } from '../../../shared/histogram/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { encodeLatencyWindow, encodeLatencyWindowJson, type LatencyWindow } from '../../../shared/telemetry/index.js';
import { MemoryEventBus } from '../../../scheduler/events/index.js';
import { LatencyTelemetry } from '../../../scheduler/telemetry/index.js';
import { cluster, hgxNode } from '../../builders/cluster.js';

function tree() {
  const nodes = [];
  for (const l of [1, 2]) for (const i of [1, 2]) nodes.push(hgxNode(`n${l}${i}`, { leaf: `leaf-${l}`, spine: 'spine-1' }));
  return cluster(['nvlink', 'leaf', 'spine'], nodes).tree;
}

function win(node: string, peer: string, us: number): LatencyWindow {
  const c = newCounts();
  for (let i = 0; i < 10; i++) record(c, us);
  return { v: 1, node, startMs: 0, windowMs: 100, peers: [{ peer, sent: 10, lost: 0, buckets: toSparse(c), p50Us: us, p99Us: us, maxUs: us }] };
}

t.test('binary and JSON windows are both taken; malformed ones are refused and counted', async (t) => {
  const registry = new Registry();
  const topo = tree();
  const telemetry = new LatencyTelemetry(
    { slidingWindowMs: 1000, slots: 4, evaluateIntervalMs: 3_600_000, degradeFactor: 3, degradeAfterMs: 500, clearAfterMs: 500, minSamples: 1, p99FloorUs: 100, peersPerLevel: [1, 1] },
    { clock: { nowMs: () => 10_000 }, log: createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false }), events: new MemoryEventBus(), registry, tree: () => topo, send: () => true },
  );
  t.teardown(() => telemetry.close());
  telemetry.onEndpoint('n11', { address: '127.0.0.1', port: 1 }); // reads the tree: the aggregator gets its layout
  telemetry.ingest(encodeLatencyWindow(win('n11', 'n12', 50)));
  telemetry.ingest(encodeLatencyWindowJson(win('n12', 'n21', 60)));
  telemetry.ingest(encodeLatencyWindow(win('n21', 'n22', 70)));
  t.same(telemetry.counts, { accepted: 3, refused: 0 });
  const truncated = encodeLatencyWindow(win('n22', 'n11', 50)).subarray(0, 20);
  const futureVersion = Uint8Array.from(encodeLatencyWindow(win('n22', 'n11', 50)));
  futureVersion[1] = 9;
  telemetry.ingest(truncated);
  telemetry.ingest(futureVersion);
  telemetry.ingest(new TextEncoder().encode('not a window'));
  telemetry.ingest(encodeLatencyWindow(win('n11', 'elsewhere', 50))); // a node outside the tree
  t.same(telemetry.counts, { accepted: 3, refused: 4 });
  const text = await registry.metrics();
  t.match(text, /gantry_scheduler_latency_windows_total\{result="accepted"\} 3/);
  t.match(text, /gantry_scheduler_latency_windows_total\{result="refused"\} 4/);
  const samples = telemetry.aggregator.evaluate(10_000);
  t.same(samples, [], 'nothing degraded');
  t.ok(telemetry.aggregator.domains().some((d) => d.name === 'n12' && d.samples > 0), 'the JSON window counted');
});
