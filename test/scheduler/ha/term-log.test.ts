/**
 * The TermLog contract, against the in-memory twin and a JetStream stream (R3) on three real
 * clustered nats-servers: an append lands only on the sequence it expects; a new leader's `term`
 * record fences a deposed leader's next append, even one that knew the right sequence before;
 * entries read back in order with their terms; compaction drops a prefix and appends go on. And a
 * reader whose nats-server dies keeps reading through the others (an ordered consumer's fetch once
 * hung for good there, and a standby that cannot read can never lead).
 */
import t, { type Test } from 'tap';
import { connect } from 'nats';
import { JetStreamTermLog, MemoryTermLog, type TermLog } from '../../../scheduler/ha/index.js';
import { startNatsCluster } from '../../harness/nats-cluster.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function contract(t: Test, log: TermLog): Promise<void> {
  t.equal(await log.lastSeq(), 0, 'empty');
  t.same(await log.append(1, enc('term 1'), 0), { ok: true, seq: 1 }, 'leader of term 1 starts its term');
  t.same(await log.append(1, enc('job a submitted'), 1), { ok: true, seq: 2 });
  // Term 2's leader takes over; term 1's leader still believes 2 is last.
  t.same(await log.append(2, enc('term 2'), 2), { ok: true, seq: 3 }, 'the new leader writes its term record first');
  t.same(await log.append(1, enc('job b submitted'), 2), { ok: false, reason: 'stale' }, "the deposed leader's append is refused");
  t.same(await log.append(2, enc('job c submitted'), 3), { ok: true, seq: 4 });
  t.equal(await log.lastSeq(), 4);
  const all = await log.read(0, 10);
  t.same(all.map((e) => [e.seq, e.term, dec(e.data)]), [[1, 1, 'term 1'], [2, 1, 'job a submitted'], [3, 2, 'term 2'], [4, 2, 'job c submitted']], 'read back in order with terms');
  t.same((await log.read(2, 1)).map((e) => e.seq), [3], 'a tail from a sequence, bounded');
  t.equal(await log.firstSeq(), 1, 'nothing compacted yet');
  await log.compact(2);
  t.equal(await log.firstSeq(), 3, 'compacted through 2: the first entry is 3');
  t.same((await log.read(0, 10)).map((e) => e.seq), [3, 4], 'a read from before the first starts at the first');
  t.same(await log.append(2, enc('job d submitted'), 4), { ok: true, seq: 5 }, 'appends go on after compaction');
  await log.compact(5);
  t.equal(await log.firstSeq(), 6, 'compacted to empty: the first is last + 1');
  t.same(await log.read(0, 10), []);
  await log.close();
}

t.test('in-memory twin', async (t) => contract(t, new MemoryTermLog()));

t.test('JetStream, R3 on three clustered nats-servers', async (t) => {
  const cluster = await startNatsCluster(t, 3);
  const nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  t.teardown(() => nc.close());
  await contract(t, await JetStreamTermLog.open(nc, { stream: 'GANTRY_TEST_STATE', subject: 'gantry.test.state', replicas: 3, timeoutMs: 5000 }));
});

t.test('a reader whose nats-server is killed keeps reading the tail', async (t) => {
  const cluster = await startNatsCluster(t, 3);
  const o = { stream: 'GANTRY_TEST_TAIL', subject: 'gantry.test.tail', replicas: 3, timeoutMs: 2000 };
  const wnc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  // The reader on the third server first: that is the one killed.
  const rnc = await connect({ servers: [cluster.urls[2]!, cluster.urls[0]!, cluster.urls[1]!], noRandomize: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  t.teardown(async () => {
    await wnc.close();
    await rnc.close();
  });
  const writer = await JetStreamTermLog.open(wnc, o);
  const reader = await JetStreamTermLog.open(rnc, o);
  let last = 0;
  let applied = 0;
  let stop = false;
  const appending = (async () => {
    while (!stop) {
      const r = await writer.append(1, enc(`e${last + 1}`), last).catch(() => undefined);
      if (r?.ok) last = r.seq;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const reading = (async () => {
    while (!stop) {
      const es = await reader.read(applied, 100).catch(() => []);
      if (es.length) applied = es.at(-1)!.seq;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  await new Promise((r) => setTimeout(r, 1500));
  cluster.servers[2]!.kill();
  await new Promise((r) => setTimeout(r, 8000));
  const target = last;
  const deadline = Date.now() + 5000;
  while (applied < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  stop = true;
  await Promise.all([appending, reading]);
  t.ok(target > 20, `the writer went on appending through the outage (${target} entries)`);
  t.ok(applied >= target, `the reader read through the outage: applied ${applied} of ${target}`);
});
