/** The outbox drains the store's events in order into its sink, keeps them while the sink is away, and resumes. */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventOutbox, MemoryEventSink } from '../../../scheduler/events/index.js';
import { LmdbStore, MemoryStore, type StateStore } from '../../../scheduler/store/index.js';
import { EVENT_SCHEMA_VERSION, type GantryEvent } from '../../../shared/events/index.js';
import { createLogger } from '../../../shared/log/index.js';

const log = createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false });
const ev = (n: number): GantryEvent => ({ v: EVENT_SCHEMA_VERSION, id: `e-${n}`, at: new Date(n).toISOString(), kind: 'node', node: `n-${n}`, type: 'connectivity', connectivity: 'ready' });

const stores: Array<[string, (dir: string) => StateStore]> = [
  ['memory', () => new MemoryStore()],
  ['lmdb', (dir) => LmdbStore.open(dir)],
];

for (const [name, make] of stores) {
  t.test(`${name}: in order, kept while the sink is away, drained when it returns`, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-outbox-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const store = make(dir);
    const sink = new MemoryEventSink();
    const bus = new EventOutbox(store, sink, log);
    const seen: string[] = [];
    bus.subscribe((e) => seen.push(e.id));
    const commit = async (...ns: number[]) => {
      const events = ns.map(ev);
      await store.commit({ events });
      bus.committed(events);
    };
    await commit(1, 2);
    t.ok(await bus.flush(2000), 'flushed');
    t.same(sink.events.map((e) => e.id), ['e-1', 'e-2']);
    sink.setReady(false);
    for (let i = 3; i <= 150; i++) await commit(i);
    bus.publish(ev(151)); // an event of its own goes through the outbox too
    await new Promise((r) => setTimeout(r, 50));
    t.equal(bus.pending(), 149, 'the outbox grows while the sink is away');
    t.equal(sink.events.length, 2, 'nothing published meanwhile');
    t.equal(seen.length, 151, 'in-process listeners hear every event at commit');
    sink.setReady(true);
    t.ok(await bus.flush(5000), 'drained once the sink is back');
    t.same(sink.events.map((e) => e.id), Array.from({ length: 151 }, (_, i) => `e-${i + 1}`), 'every event, once, in commit order');
    t.equal(bus.pending(), 0);
    await bus.close();
    await store.close();
  });
}

t.test('lmdb: events left in the outbox by a crash are published by the next run', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-outbox-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let store = LmdbStore.open(dir);
  await store.commit({ events: [ev(1), ev(2), ev(3)] });
  await store.close(); // the process dies before publishing
  store = LmdbStore.open(dir);
  const sink = new MemoryEventSink();
  const bus = new EventOutbox(store, sink, log);
  bus.start();
  t.ok(await bus.flush(3000));
  t.same(sink.events.map((e) => e.id), ['e-1', 'e-2', 'e-3']);
  await bus.close();
  await store.close();
});

t.test('the in-memory sink keeps the most recent maxEvents, oldest dropped first', async (t) => {
  const sink = new MemoryEventSink(3);
  for (let n = 1; n <= 5; n++) await sink.publish(ev(n));
  t.same(sink.events.map((e) => e.id), ['e-3', 'e-4', 'e-5']);
  const byDefault = new MemoryEventSink();
  for (let n = 1; n <= 1001; n++) await byDefault.publish(ev(n));
  t.equal(byDefault.events.length, 1000, 'by default 1,000');
  t.equal(byDefault.events[0]!.id, 'e-2');
});
