/**
 * Event latency, transition to subscriber: the scheduler's own path (a state change committed with
 * its event to the LMDB outbox, EventOutbox draining into NatsEventSink, JetStream with
 * Nats-Msg-Id) to a core-NATS subscriber on gantry.events.>, on a real nats-server with JetStream
 * (file storage) and a real LMDB store. Timed from just before the commit to the subscriber's
 * callback, per event, with performance.now() (one process, one clock).
 *
 * (a) paced: one transition every 2 ms (500/s, a busy cluster); (b) a burst: one commit of 500 events
 * (a large gang placed at once); (c) NATS down for 2 s while 1,000 events are committed, then back:
 * time until the outbox is empty.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect } from 'nats';
import { EventOutbox, NatsEventSink } from '../scheduler/events/index.js';
import { LmdbStore } from '../scheduler/store/index.js';
import { EVENT_SCHEMA_VERSION, EVENTS_SUBJECT_ALL, type GantryEvent } from '../shared/events/index.js';
import { createLogger } from '../shared/log/index.js';
import { freePort, startChild, waitForPort, type Child } from '../shared/procs/index.js';
import { percentile, type BenchOptions, type BenchRow, type BenchSuite, type SuiteResult } from './suite.js';

const log = createLogger({ name: 'bench', level: 'silent', format: 'json', isTty: false });
let seq = 0;
const event = (): GantryEvent => ({
  v: EVENT_SCHEMA_VERSION,
  id: `bench-${process.pid}-${++seq}`,
  at: new Date().toISOString(),
  kind: 'job',
  job: `bench-${seq % 97}`,
  type: 'running',
  attempt: 0,
  epoch: 1,
  message: 'all 8 ranks running',
});

export const eventsSuite: BenchSuite = {
  name: 'events',
  description: 'event latency from a committed transition to a NATS subscriber (outbox → JetStream), p50/p99',
  async run(options: BenchOptions): Promise<SuiteResult> {
    const bin = execFileSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).trim();
    const port = await freePort();
    const natsDir = mkdtempSync(path.join(os.tmpdir(), 'gantry-bench-nats-'));
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gantry-bench-store-'));
    const launch = async (): Promise<Child> => {
      const c = startChild('nats-server', bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', natsDir]);
      await waitForPort(port, 10_000);
      return c;
    };
    let nats = await launch();
    const url = `nats://127.0.0.1:${port}`;
    const store = LmdbStore.open(dataDir);
    const sink = new NatsEventSink({ connection: { servers: url, name: 'bench events' }, streamMaxBytes: 1 << 30, streamMaxAgeMs: 3_600_000 }, log);
    sink.start();
    const bus = new EventOutbox(store, sink, log);
    const started = new Map<string, number>();
    const latencies: number[] = [];
    const sub = await connect({ servers: url, name: 'bench subscriber', maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    sub.subscribe(EVENTS_SUBJECT_ALL, {
      callback: (_err, m) => {
        const id = (JSON.parse(new TextDecoder().decode(m.data)) as GantryEvent).id;
        const t0 = started.get(id);
        if (t0 !== undefined) {
          latencies.push(performance.now() - t0);
          started.delete(id);
        }
      },
    });
    await sub.flush();
    const commit = async (n: number): Promise<void> => {
      const events = Array.from({ length: n }, event);
      const t0 = performance.now();
      for (const e of events) started.set(e.id, t0);
      await store.commit({ events });
      bus.committed(events);
    };
    const drained = async (timeoutMs: number): Promise<boolean> => {
      const until = Date.now() + timeoutMs;
      while ((started.size > 0 || store.outboxSize() > 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      return started.size === 0;
    };
    const rows: BenchRow[] = [];
    const details: Record<string, unknown> = {};
    const report = (scenario: string, xs: number[]): void => {
      rows.push({ scenario, metric: 'p50', value: Number(percentile(xs, 50).toFixed(2)), unit: 'ms' });
      rows.push({ scenario, metric: 'p99', value: Number(percentile(xs, 99).toFixed(2)), unit: 'ms' });
      rows.push({ scenario, metric: 'max', value: Number(Math.max(...xs).toFixed(2)), unit: 'ms' });
      details[scenario] = { count: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99), max: Math.max(...xs) };
    };
    try {
      while (!sink.ready) await new Promise((r) => setTimeout(r, 20));
      await commit(20); // warm up: stream creation, JIT
      await drained(10_000);
      latencies.length = 0;
      const paced = options.quick ? 500 : 3000;
      options.log(`events: ${paced} transitions paced at 500/s`);
      for (let i = 0; i < paced; i++) {
        await commit(1);
        await new Promise((r) => setTimeout(r, 2));
      }
      await drained(30_000);
      report('(a) one transition every 2 ms', latencies.splice(0));
      options.log('events: a burst of 500 in one commit');
      await commit(500);
      await drained(30_000);
      report('(b) 500 events in one commit', latencies.splice(0));
      options.log('events: NATS down 2 s with 1,000 commits, then back');
      await nats.kill();
      const downAt = performance.now();
      for (let i = 0; i < 1000; i++) await commit(1);
      const outboxPeak = store.outboxSize();
      await new Promise((r) => setTimeout(r, Math.max(0, 2000 - (performance.now() - downAt))));
      nats = await launch();
      const backAt = performance.now();
      const ok = await drained(60_000);
      const drainMs = performance.now() - backAt;
      rows.push({ scenario: '(c) NATS down 2 s, 1,000 events', metric: 'outbox peak', value: outboxPeak, unit: 'events' });
      rows.push({ scenario: '(c) NATS down 2 s, 1,000 events', metric: 'drained after NATS returned', value: Math.round(drainMs), unit: 'ms' });
      rows.push({ scenario: '(c) NATS down 2 s, 1,000 events', metric: 'all delivered', value: ok ? 'yes' : `no (${started.size} missing)`, unit: '' });
      details['(c)'] = { outboxPeak, drainMs, delivered: ok, missing: started.size };
      latencies.length = 0;
    } finally {
      await sub.close().catch(() => undefined);
      await bus.close();
      await store.close();
      await nats.kill();
      rmSync(natsDir, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
    return { rows, details };
  },
};
