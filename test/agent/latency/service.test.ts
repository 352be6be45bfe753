/** The agent's latency prober and echo responder on real UDP sockets over loopback, publishing into the in-memory sink. */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeProbe, encodeProbe, interfaceAddress, LatencyService, WindowStats, type LatencyOptions } from '../../../agent/latency/index.js';
import { MemoryTelemetrySink } from '../../../agent/telemetry/index.js';
import { ConfigError } from '../../../shared/errors/index.js';
import { decodeLatencyWindow, latencyWireEncoding } from '../../../shared/telemetry/index.js';
import { systemClock } from '../../../shared/clock/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { Registry } from 'prom-client';

const log = createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false });

const opts = (nodeName: string, extra: Partial<LatencyOptions> = {}): LatencyOptions => ({
  nodeName,
  listen: { host: '127.0.0.1', port: 0 },
  interface: '',
  fallbackAddress: '127.0.0.1',
  probeRateHz: 100,
  windowMs: 150,
  timeoutMs: 400,
  echoDelayMs: 0,
  echoDelayFile: '',
  ...extra,
});

const until = async (what: string, check: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

t.test('probe packets: round trip; anything else is not a probe', async (t) => {
  t.equal(decodeProbe(encodeProbe(123456)), 123456);
  t.equal(decodeProbe(Buffer.from('hello world 1234')), -1);
  t.equal(decodeProbe(Buffer.alloc(3)), -1);
});

t.test('window stats: per peer counts, quantiles, reset after reading', async (t) => {
  const w = new WindowStats();
  w.sent('b');
  w.sent('b');
  w.rtt('b', 100);
  w.lost('b');
  const out = w.window('a', 1000, 500);
  t.match(out, { v: 1, node: 'a', startMs: 1000, windowMs: 500, peers: [{ peer: 'b', sent: 2, lost: 1, maxUs: 100, p99Us: 100 }] });
  t.same(w.window('a', 1500, 500).peers, [], 'empty after reading');
});

t.test('two agents probe each other; a delayed echo shows in the windows, and lost probes are counted', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-latency-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const delayFile = path.join(dir, 'delay');
  writeFileSync(delayFile, '0');
  const sa = new MemoryTelemetrySink();
  const sb = new MemoryTelemetrySink();
  const registry = new Registry();
  const a = new LatencyService(opts('a.x'), sa, systemClock, log, registry);
  const b = new LatencyService(opts('b', { echoDelayFile: delayFile }), sb, systemClock, log);
  t.teardown(async () => {
    await a.stop();
    await b.stop();
  });
  const ea = await a.start();
  const eb = await b.start();
  t.equal(ea.address, '127.0.0.1');
  t.ok(eb.port > 0);
  a.setPeers([{ node: 'b', ...eb }, { node: 'a.x', ...ea }]);
  b.setPeers([{ node: 'a.x', ...ea }]);
  t.same(a.peerNames, ['b'], 'never probes itself');
  await until('windows from both', () => sa.messages.length >= 2 && sb.messages.length >= 2);
  const first = decodeLatencyWindow(sa.messages[1]!.data);
  t.equal(latencyWireEncoding(sa.messages[1]!.data), 'binary', 'windows go out in the binary encoding');
  t.equal(sa.messages[0]!.subject, 'gantry.telemetry.latency.a%2Ex', 'subject token encoded');
  t.equal(first.peers[0]?.peer, 'b');
  // Before any delay is injected, the typical round trip is below the 60 ms about to be injected (the
  // median: a loaded machine's scheduling hiccups show in p99 and max, not in p50).
  t.ok((first.peers[0]?.sent ?? 0) > 0 && first.peers[0]!.p50Us < 60_000, `fast before: ${JSON.stringify(first.peers[0])}`);
  // b's echo now answers 60 ms late: a sees it; b's own probes of a stay fast.
  writeFileSync(delayFile, '60');
  await until('slow windows at a', () => sa.messages.slice(2).some((m) => (decodeLatencyWindow(m.data).peers[0]?.maxUs ?? 0) >= 60_000));
  const bw = decodeLatencyWindow(sb.messages[sb.messages.length - 1]!.data);
  t.ok((bw.peers[0]?.p50Us ?? Infinity) < 60_000, 'the other direction is not delayed');
  // Later than the timeout: lost.
  writeFileSync(delayFile, '1000');
  await until('lost probes', () => sa.messages.some((m) => (decodeLatencyWindow(m.data).peers[0]?.lost ?? 0) > 0), 15_000);
  t.ok(a.totals.lost > 0 && a.totals.sent > a.totals.replies);
  const text = await registry.metrics();
  t.match(text, /gantry_agent_latency_probes_lost_total [1-9]/);
  t.match(text, /gantry_agent_latency_windows_published_total [1-9]/);
});

t.test('latency.interface must name a netdev with an IPv4 address', async (t) => {
  t.equal(interfaceAddress('lo', { lo: [{ address: '127.0.0.1', family: 'IPv4', netmask: '255.0.0.0', mac: '00:00:00:00:00:00', internal: true, cidr: null }] }), '127.0.0.1');
  try {
    interfaceAddress('ib0', {});
    t.fail('accepted');
  } catch (e) {
    t.ok(e instanceof ConfigError);
    t.match((e as Error).message, /latency\.interface/);
  }
});
