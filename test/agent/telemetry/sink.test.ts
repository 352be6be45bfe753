/** The telemetry sink contract, against a real nats-server and the in-memory twin. */
import t from 'tap';
import { connect } from 'nats';
import { pino } from 'pino';
import { MemoryTelemetrySink, NatsTelemetrySink, type TelemetrySink } from '../../../agent/telemetry/index.js';
import type { Test as TapTest } from 'tap';
import { startNats, waitFor } from '../../harness/cluster.js';

async function contract(t: TapTest, sink: TelemetrySink, received: () => string[], stopBackend: () => Promise<void>): Promise<void> {
  await waitFor('sink connected', () => sink.connected, 10_000);
  t.ok(sink.publish('gantry.telemetry.latency.n1', new TextEncoder().encode('w1')), 'published while connected');
  await waitFor('w1 received', () => received().includes('w1'), 5000);
  await stopBackend();
  await waitFor('sink sees the backend gone', () => !sink.connected, 10_000);
  t.notOk(sink.publish('gantry.telemetry.latency.n1', new TextEncoder().encode('w2')), 'dropped while away');
  t.equal(sink.dropped, 1, 'the drop is counted');
  await sink.close();
}


t.test('NATS sink', async (t) => {
  const nats = await startNats(t);
  const sub = await connect({ servers: nats.url });
  const got: string[] = [];
  const s = sub.subscribe('gantry.telemetry.>');
  void (async () => {
    for await (const m of s) got.push(new TextDecoder().decode(m.data));
  })();
  await sub.flush();
  const sink = new NatsTelemetrySink({ servers: nats.url, name: 'test' }, pino({ level: 'silent' }));
  sink.start();
  await contract(t, sink, () => got, async () => {
    await sub.close();
    nats.child.kill();
  });
});

t.test('memory sink', async (t) => {
  const sink = new MemoryTelemetrySink();
  await contract(t, sink, () => sink.messages.map((m) => new TextDecoder().decode(m.data)), async () => {
    sink.connected = false;
  });
});
