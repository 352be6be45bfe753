/**
 * The scheduler's latency loop takes binary windows and legacy JSON ones alike, counts what it
 * refuses, and takes the node from the subject: a window naming another node is dropped.
 */
import t from 'tap';
import { Registry } from 'prom-client';
import { newCounts, record, toSparse } from '../../../shared/histogram/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { latencyTelemetrySubject } from '../../../shared/events/index.js';
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
  const on = (w: LatencyWindow): string => latencyTelemetrySubject(w.node);
  const send = (w: LatencyWindow, encode = encodeLatencyWindow): void => telemetry.ingest(on(w), encode(w));
  send(win('n11', 'n12', 50));
  send(win('n12', 'n21', 60), encodeLatencyWindowJson);
  send(win('n21', 'n22', 70));
  t.same(telemetry.counts, { accepted: 3, refused: 0, foreign: 0 });
  const truncated = encodeLatencyWindow(win('n22', 'n11', 50)).subarray(0, 20);
  const futureVersion = Uint8Array.from(encodeLatencyWindow(win('n22', 'n11', 50)));
  futureVersion[1] = 9;
  telemetry.ingest(latencyTelemetrySubject('n22'), truncated);
  telemetry.ingest(latencyTelemetrySubject('n22'), futureVersion);
  telemetry.ingest(latencyTelemetrySubject('n22'), new TextEncoder().encode('not a window'));
  send(win('n11', 'elsewhere', 50)); // a peer outside the tree
  t.same(telemetry.counts, { accepted: 3, refused: 4, foreign: 0 });
  const text = await registry.metrics();
  t.match(text, /gantry_scheduler_latency_windows_total\{result="accepted"\} 3/);
  t.match(text, /gantry_scheduler_latency_windows_total\{result="refused"\} 4/);
  const samples = telemetry.aggregator.evaluate(10_000);
  t.same(samples, [], 'nothing degraded');
  t.ok(telemetry.aggregator.domains().some((d) => d.name === 'n12' && d.samples > 0), 'the JSON window counted');
});

t.test('the subject names the node: a window whose payload names another node is dropped and counted', async (t) => {
  const registry = new Registry();
  const topo = tree();
  const telemetry = new LatencyTelemetry(
    { slidingWindowMs: 1000, slots: 4, evaluateIntervalMs: 3_600_000, degradeFactor: 3, degradeAfterMs: 500, clearAfterMs: 500, minSamples: 1, p99FloorUs: 100, peersPerLevel: [1, 1] },
    { clock: { nowMs: () => 10_000 }, log: createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false }), events: new MemoryEventBus(), registry, tree: () => topo, send: () => true },
  );
  t.teardown(() => telemetry.close());
  telemetry.onEndpoint('n11', { address: '127.0.0.1', port: 1 });
  // n21, allowed only gantry.telemetry.*.n21, sends a window that claims n11 saw n12 slow.
  telemetry.ingest(latencyTelemetrySubject('n21'), encodeLatencyWindow(win('n11', 'n12', 90_000)));
  telemetry.ingest(latencyTelemetrySubject('n21'), encodeLatencyWindowJson(win('n11', 'n12', 90_000)));
  t.same(telemetry.counts, { accepted: 0, refused: 0, foreign: 2 }, 'both encodings checked');
  t.notOk(telemetry.aggregator.domains().some((d) => d.samples > 0), 'nothing reached the aggregator');
  // A subject that names no node (not one token, not one subjectToken builds) is refused.
  telemetry.ingest('gantry.telemetry.latency.n11.x', encodeLatencyWindow(win('n11', 'n12', 50)));
  telemetry.ingest('gantry.telemetry.latency.n1%', encodeLatencyWindow(win('n1%', 'n12', 50)));
  telemetry.ingest('gantry.telemetry.service.n11', encodeLatencyWindow(win('n11', 'n12', 50)));
  t.same(telemetry.counts, { accepted: 0, refused: 3, foreign: 2 });
  // Its own window goes through.
  telemetry.ingest(latencyTelemetrySubject('n11'), encodeLatencyWindow(win('n11', 'n12', 50)));
  t.same(telemetry.counts, { accepted: 1, refused: 3, foreign: 2 });
  t.match(await registry.metrics(), /gantry_scheduler_latency_windows_total\{result="foreign"\} 2/);
});
