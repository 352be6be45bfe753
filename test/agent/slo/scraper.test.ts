/**
 * The agent's SLO scraper on real parts: the stand-in inference server (a child process serving a
 * vLLM-shaped histogram), the real NATS telemetry sink and a real nats-server; windows are read
 * back from NATS and their deltas checked.
 */
import t from 'tap';
import path from 'node:path';
import { connect } from 'nats';
import { pino } from 'pino';
import { SloScraper } from '../../../agent/slo/index.js';
import { NatsTelemetrySink } from '../../../agent/telemetry/index.js';
import { systemClock } from '../../../shared/clock/index.js';
import { parseServiceWindow, type ServiceWindow } from '../../../shared/events/index.js';
import { freePort, startChild, waitForPort } from '../../../shared/procs/index.js';
import { httpGet, ROOT, startNats, waitFor } from '../../harness/cluster.js';

const SERVER = path.join(ROOT, 'scripts', 'sim', 'inference-server.mjs');
const VLLM_BOUNDS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

t.test('windows of a replica arrive on NATS with the right deltas, through a restart of the server', async (t) => {
  const nats = await startNats(t);
  const port = await freePort();
  const server = startChild('inference-server', process.execPath, [SERVER, '--port', String(port), '--rate', '0', '--latency-ms', '400', '--engines', '2']);
  t.teardown(() => server.kill());
  await waitForPort(port, 10_000);

  const sub = await connect({ servers: nats.url });
  t.teardown(() => sub.close());
  const got: Array<{ subject: string; w: ServiceWindow }> = [];
  void (async () => {
    for await (const m of sub.subscribe('gantry.telemetry.service.>')) got.push({ subject: m.subject, w: parseServiceWindow(JSON.parse(new TextDecoder().decode(m.data))) });
  })();
  await sub.flush();

  const log = pino({ level: 'silent' });
  const sink = new NatsTelemetrySink({ servers: nats.url, name: 'slo-test' }, log);
  sink.start();
  t.teardown(() => sink.close());
  await waitFor('sink connected', () => sink.connected, 10_000);
  const scraper = new SloScraper({ nodeName: 'gpu-node.rack1', scrapeIntervalMs: 150, scrapeTimeoutMs: 1000 }, { sink, clock: systemClock, log });
  t.teardown(() => scraper.close());
  const service = 'web.chat';
  scraper.track({ jobId: service, rank: 4, epoch: 3, service, metric: 'vllm:e2e_request_latency_seconds', port, windowMs: 0, replica: 2 });
  await waitFor('baseline scraped', () => scraper.stats.scrapes >= 1, 10_000, 20);

  await httpGet(`http://127.0.0.1:${port}/control?observe=10`);
  const first = await waitFor('a window with the 10 requests', () => got.find((g) => g.w.count > 0), 10_000, 20);
  t.equal(first.subject, 'gantry.telemetry.service.gpu-node%2Erack1', 'published on its own node (one subject token); the window names the service');
  const w = first.w;
  t.match(w, { v: 1, service, metric: 'vllm:e2e_request_latency_seconds', node: 'gpu-node.rack1', jobId: service, epoch: 3, rank: 4, replica: 2, reset: false });
  t.same(w.le, VLLM_BOUNDS);
  t.equal(w.count, 10, 'both engines (label sets) summed');
  t.same(w.buckets, [0, ...new Array(VLLM_BOUNDS.length).fill(10)], '400 ms ± 20% all fall in (0.3, 0.5]');
  t.ok(w.sum > 3.2 && w.sum < 4.8, `sum ${w.sum} s`);
  t.ok(w.endMs > w.startMs, 'the window has a span');
  t.equal(got.filter((g) => g.w.count > 0).length, 1, 'the 10 requests are counted once');

  await httpGet(`http://127.0.0.1:${port}/control?observe=5&latencyMs=2000`);
  const second = await waitFor('the next 5', () => got.find((g) => g.w.count === 5), 10_000, 20);
  t.same(second.w.buckets.slice(0, 6), [0, 0, 0, 0, 0, 3], 'only the new requests: 2 s ± 20%, 3 of 5 at ≤ 2 s');
  t.equal(second.w.buckets.at(-1), 5);

  // A restart: every counter drops; the new values are the window.
  await httpGet(`http://127.0.0.1:${port}/control?reset=1&observe=3&latencyMs=100`);
  const reset = await waitFor('the reset window', () => got.find((g) => g.w.reset), 10_000, 20);
  t.equal(reset.w.count, 3);
  t.equal(reset.w.buckets[0], 3, '100 ms requests in the first bucket');
  t.ok(got.every((g) => g.w.count >= 0 && g.w.buckets.every((b) => b >= 0)), 'never a negative delta');
  t.equal(scraper.stats.failures, 0);
});

t.test('a replica that does not answer is retried, publishes nothing, and untrack stops it', async (t) => {
  const sink = { connected: true, dropped: 0, published: 0, publish() { this.published++; return true; }, async close() {} };
  const log = pino({ level: 'silent' });
  const port = await freePort();
  const scraper = new SloScraper({ nodeName: 'n1', scrapeIntervalMs: 100, scrapeTimeoutMs: 500 }, { sink, clock: systemClock, log });
  t.teardown(() => scraper.close());
  const key = { jobId: 'svc', rank: 0, epoch: 1 };
  scraper.track({ ...key, service: 'svc', metric: 'vllm:e2e_request_latency_seconds', port, windowMs: 0, replica: 0 });
  await waitFor('three failed scrapes', () => scraper.stats.failures >= 3, 10_000, 20);
  t.equal(sink.published, 0);
  t.same(scraper.targets().map((x) => x.port), [port]);
  scraper.untrack(key);
  t.same(scraper.targets(), []);
});
