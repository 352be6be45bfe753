/**
 * Telemetry ingest: how many latency windows per second the scheduler's subscriber + aggregator
 * (scheduler/telemetry LatencyTelemetry, the daemon's own code) takes from a real nats-server without
 * backlog. Windows come from a separate publisher process (bench/telemetry-publisher.ts, raw NATS
 * protocol so that it outruns the subscriber): every node of the 5,000-node cluster with its 4 chosen
 * peers, ~100 RTTs each, in the agents' binary encoding (`--encoding json`: the legacy JSON form).
 * A warm-up of 20,000 windows (not reported) runs first.
 *
 * (a) paced at the target rate: everything delivered, the rate kept, and under 100 ms of backlog left
 *     when the publisher stops; (b) flat out: the rate sustained, delivered/sent (a slow consumer
 *     shows as drops), and the backlog left. Where the publisher cannot reach the pace, the figure is
 *     bounded by it (the table shows the publisher's rate beside it).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { freePort, startChild, waitForPort } from '../shared/procs/index.js';
import { createLogger } from '../shared/log/index.js';
import { systemClock } from '../shared/clock/index.js';
import { MemoryEventBus } from '../scheduler/events/index.js';
import { LatencyTelemetry, layoutFromTree } from '../scheduler/telemetry/index.js';
import type { LatencyWireEncoding } from '../shared/telemetry/index.js';
import { hgx5000 } from './clusters.js';
import { processCpuMs, type BenchOptions, type BenchRow, type BenchSuite, type SuiteResult } from './suite.js';

const TARGET = 100_000;

interface Published {
  sent: number;
  seconds: number;
  /** Average payload bytes of one window. */
  bytes: number;
  /** The publisher's own CPU time. */
  cpuMs: number;
}

function runPublisher(url: string, count: number, rate: number, encoding: LatencyWireEncoding): Promise<Published> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'telemetry-publisher.js');
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [script, url, String(count), String(rate), encoding], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Published) : reject(new Error(`publisher exited ${code}`))));
  });
}

interface Measured {
  sent: number;
  bytes: number;
  publishSeconds: number;
  delivered: number;
  seconds: number;
  rate: number;
  maxPending: number;
  /** From the publisher's last flush to the last window ingested: the backlog left when it stopped. */
  tailLagMs: number;
  /** CPU µs per window delivered: this process (subscriber + aggregator), nats-server, the publisher. */
  cpuUsPerWindow: { subscriber: number; server: number; publisher: number };
}

async function measure(telemetry: LatencyTelemetry, url: string, count: number, rate: number, encoding: LatencyWireEncoding, serverPid: number | undefined): Promise<Measured> {
  const cpu0 = process.cpuUsage();
  const server0 = processCpuMs(serverPid);
  const seen0 = telemetry.counts;
  const base = seen0.accepted + seen0.refused;
  let first = 0;
  let last = 0;
  let maxPending = 0;
  const done = (): number => {
    const c = telemetry.counts;
    return c.accepted + c.refused - base;
  };
  const poll = setInterval(() => {
    const n = done();
    if (n > 0 && first === 0) first = performance.now();
    maxPending = Math.max(maxPending, telemetry.pending);
  }, 5);
  const pub = await runPublisher(url, count, rate, encoding);
  const published = performance.now();
  // Wait for the tail (or give up after 5 s of no progress).
  let seen = -1;
  let still = performance.now();
  while (done() < pub.sent) {
    await new Promise((r) => setTimeout(r, 5));
    const n = done();
    if (n !== seen) {
      seen = n;
      still = performance.now();
    } else if (performance.now() - still > 5000) break;
  }
  last = performance.now();
  clearInterval(poll);
  const delivered = done();
  const cpu = process.cpuUsage(cpu0);
  const perWindow = (ms: number): number => Math.round((ms * 1000 * 100) / Math.max(1, delivered)) / 100;
  const cpuUsPerWindow = { subscriber: perWindow((cpu.user + cpu.system) / 1000), server: perWindow(processCpuMs(serverPid) - server0), publisher: perWindow(pub.cpuMs) };
  return {
    cpuUsPerWindow, sent: pub.sent, bytes: pub.bytes, publishSeconds: pub.seconds, delivered, seconds: (last - first) / 1000, rate: delivered / ((last - first) / 1000), maxPending, tailLagMs: Math.max(0, last - published) };
}

export const telemetrySuite: BenchSuite = {
  name: 'telemetry',
  description: 'latency windows/s the scheduler ingests from NATS without backlog (target >= 100,000/s)',
  async run(options: BenchOptions): Promise<SuiteResult> {
    const encodingParam = options.params.encoding ?? 'binary';
    if (encodingParam !== 'binary' && encodingParam !== 'json') throw new Error(`--encoding must be binary or json (got ${encodingParam})`);
    const encoding: LatencyWireEncoding = encodingParam;
    const bin = execFileSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).trim();
    const port = await freePort();
    const store = mkdtempSync(path.join(os.tmpdir(), 'gantry-bench-nats-'));
    const nats = startChild('nats-server', bin, ['-a', '127.0.0.1', '-p', String(port), '-sd', store]);
    const url = `nats://127.0.0.1:${port}`;
    const rows: BenchRow[] = [];
    const details: Record<string, unknown> = {};
    try {
      await waitForPort(port, 10_000);
      const tree = hgx5000().tree;
      const telemetry = new LatencyTelemetry(
        {
          connection: { servers: url, name: 'bench telemetry' },
          slidingWindowMs: 60_000,
          slots: 12,
          evaluateIntervalMs: 3_600_000,
          degradeFactor: 3,
          degradeAfterMs: 30_000,
          clearAfterMs: 60_000,
          minSamples: 100,
          p99FloorUs: 200,
          peersPerLevel: [2, 1, 1],
        },
        { clock: systemClock, log: createLogger({ name: 'bench', level: 'silent', format: 'json', isTty: false }), events: new MemoryEventBus(), registry: new Registry(), tree: () => tree, send: () => true },
      );
      telemetry.aggregator.setLayout(layoutFromTree(tree));
      telemetry.start();
      await telemetry.ready();
      const seconds = options.quick ? 1 : 5;
      // Warm-up (not reported): every node's window a few times, so the aggregator has its pairs and
      // the code is compiled, as in a daemon that has been running.
      options.log(`telemetry: warm-up`);
      await measure(telemetry, url, 20_000, 0, encoding, nats.proc.pid);
      options.log(`telemetry: ${encoding} windows; (a) paced at ${TARGET}/s for ${seconds} s`);
      const a = await measure(telemetry, url, TARGET * seconds, TARGET, encoding, nats.proc.pid);
      rows.push({ scenario: 'windows', metric: 'encoding', value: encoding, unit: '' });
      rows.push({ scenario: 'windows', metric: 'message size', value: Math.round(a.bytes), unit: 'bytes', target: '4 peers, ~100 RTTs each' });
      const backlogOk = a.maxPending <= TARGET / 10 && a.tailLagMs <= 100;
      rows.push({ scenario: '(a) paced 100k/s', metric: 'delivered / sent', value: `${a.delivered} / ${a.sent}`, unit: 'windows', target: 'all', ok: a.delivered === a.sent });
      rows.push({ scenario: '(a) paced 100k/s', metric: 'ingest rate', value: Math.round(a.rate), unit: 'windows/s', target: '>= 100,000', ok: a.rate >= TARGET * 0.98 && a.delivered === a.sent });
      rows.push({ scenario: '(a) paced 100k/s', metric: 'publisher rate', value: Math.round(a.sent / a.publishSeconds), unit: 'windows/s', target: '100,000 (the pace)' });
      rows.push({ scenario: '(a) paced 100k/s', metric: 'backlog at the end', value: Math.round(a.tailLagMs), unit: 'ms', target: '<= 100', ok: backlogOk });
      options.log('telemetry: (b) flat out');
      const b = await measure(telemetry, url, options.quick ? 200_000 : 1_000_000, 0, encoding, nats.proc.pid);
      rows.push({ scenario: '(b) flat out', metric: 'delivered / sent', value: `${b.delivered} / ${b.sent}`, unit: 'windows', target: 'all', ok: b.delivered === b.sent });
      rows.push({ scenario: '(b) flat out', metric: 'ingest rate', value: Math.round(b.rate), unit: 'windows/s', target: '>= 100,000', ok: b.rate >= TARGET });
      rows.push({ scenario: '(b) flat out', metric: 'publisher rate', value: Math.round(b.sent / b.publishSeconds), unit: 'windows/s' });
      rows.push({ scenario: '(b) flat out', metric: 'backlog at the end', value: Math.round(b.tailLagMs), unit: 'ms' });
      // CPU time per window is what the machine's load inflates least: 1e6 / (sum) windows/s is what
      // two free cores could carry, 1e6 / subscriber what one free core gives the subscriber.
      const c = b.cpuUsPerWindow;
      rows.push({ scenario: '(b) flat out', metric: 'CPU per window: subscriber', value: c.subscriber, unit: 'µs', target: '<= 10 (one core at 100k/s)', ok: c.subscriber <= 10 });
      rows.push({ scenario: '(b) flat out', metric: 'CPU per window: nats-server', value: c.server, unit: 'µs' });
      rows.push({ scenario: '(b) flat out', metric: 'CPU per window: publisher', value: c.publisher, unit: 'µs' });
      rows.push({ scenario: '(b) flat out', metric: 'CPU per window: all three', value: Math.round((c.subscriber + c.server + c.publisher) * 100) / 100, unit: 'µs', target: '<= 20 (2 cores at 100k/s)', ok: c.subscriber + c.server + c.publisher <= 20 });
      details.paced = a;
      details.flatOut = b;
      details.windows = { encoding, bytes: a.bytes, what: 'hgx5000 nodes, 4 peers each, ~100 RTTs per peer' };
      await telemetry.close();
    } finally {
      await nats.kill();
      rmSync(store, { recursive: true, force: true });
    }
    return { rows, details };
  },
};
